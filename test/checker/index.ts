/** The independent fleet checker: reads a lake and the nodes' sensor databases, imports nothing of edgelake. */
export { checkFleet, type CheckOptions, type CheckReport, type CheckedNode, type NodeFigures } from './check.ts';
export { readLakeFolder, readS3Lake, decodeJsonlGz, decodeParquet, decodeObject, type LakeObject, type LakeSnapshot, type S3LakeOptions } from './lake-source.ts';
export { parseEventMs } from './event-time.ts';
export { parseKey, stageOfBucket } from './keys.ts';
export { recomputeWindows, statsOf } from './windows.ts';
