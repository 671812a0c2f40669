import { gunzip as gunzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import type { ColumnarBatch } from '../batch.ts';
import { ConfigError, PipelineError } from '../errors.ts';
import { twinDifference } from './format-twins.ts';
import type { LakeObject, LakeRecordSource } from './lake-records.ts';
import { decodeIngestionParquet } from './parquet-records.ts';
import { buildBatch, decodeIngestionLines, type BuildOptions, type DecodedRecords } from './record-batch.ts';

/**
 * One landed ingestion object read back into rows, whichever format it is in: gzip JSON Lines
 * (src/source/record-batch.ts) or Parquet (src/source/parquet-records.ts), chosen by its key;
 * with its Parquet twin when the listing paired one (src/source/format-twins.ts).
 */

const gunzip = promisify(gunzipCb);

/**
 * Decodes one ingestion object of either format (rows in id order); errors name the object. An
 * object with a Parquet twin is read with it, and a twin holding other rows is a ConfigError
 * (`LAKE_TWINS_DIFFER`) naming both keys: which one is right is for a person to decide.
 */
export async function readIngestionObject(source: LakeRecordSource, obj: LakeObject): Promise<DecodedRecords> {
  const decoded = await decodeObject(source, obj);
  if (obj.twin !== undefined) {
    const twin = { bucket: obj.bucket, key: obj.twin, format: 'parquet' as const };
    const diff = twinDifference(decoded, await decodeObject(source, twin));
    if (diff !== null) {
      throw new ConfigError(
        'LAKE_TWINS_DIFFER',
        `${objectName(source, obj)} and ${objectName(source, twin)} hold the same id range in both formats but not the same rows (${diff}); ` +
          'every row is read once: remove the object that is wrong (or move it out of sensor_readings/) and run again',
      );
    }
  }
  return decoded;
}

/**
 * An object as messages name it: the file path, or `S3 object bucket/key` — not the `s3://` URI,
 * which the log's redaction reduces to a hash like any URL, leaving nobody the key to look at.
 */
export function objectName(source: LakeRecordSource, obj: Pick<LakeObject, 'bucket' | 'key'>): string {
  return source.kind === 's3' ? `S3 object ${obj.bucket}/${obj.key}` : source.uri(obj);
}

async function decodeObject(source: LakeRecordSource, obj: Pick<LakeObject, 'bucket' | 'key' | 'format'>): Promise<DecodedRecords> {
  const where = objectName(source, obj);
  if (obj.format === 'parquet') {
    // A lake folder's file is read where it lies; a body from S3 through a private temporary file.
    const path = await source.file(obj);
    if (path !== null) return decodeIngestionParquet({ path }, where);
    return decodeIngestionParquet({ body: await source.get(obj) }, where);
  }
  let text: string;
  try {
    text = (await gunzip(await source.get(obj))).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PipelineError) throw err;
    throw new PipelineError('LAKE_RECORD_INVALID', `${where} is not gzip (${(err as Error).message}); not an edgelake ingestion object`, { cause: err });
  }
  return decodeIngestionLines(text, where);
}

/** The batch the live reader would have produced from an ingestion object's rows (with its projection options). */
export async function readIngestionBatch(source: LakeRecordSource, obj: LakeObject, opts: BuildOptions = {}): Promise<ColumnarBatch> {
  return buildBatch((await readIngestionObject(source, obj)).rows, opts);
}
