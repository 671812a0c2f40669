// The WASM kernels of edgelake (see src/kernels/types.ts for their contract and src/kernels/wasm.ts
// for the host side that lays out the columns). Built with --runtime stub: no allocator, no GC.
export { heapBase, slotMax, slotMin } from './common';
export { validate } from './validate';
export { score } from './score';
export { aggregate, aggRehash, aggRecords } from './aggregate';
export { fuzz, fuzzPrepare } from './fuzz';
