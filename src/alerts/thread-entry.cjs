// Entry of the alert thread when edgelake runs from its TypeScript sources (tests, benchmarks,
// `node --import tsx`): Node 20 applies tsx's hooks to a worker's require() but not to an ES
// module or eval entry, so the thread starts here and requires thread-worker.ts. The compiled
// build starts build/alerts/thread-worker.js directly and never loads this file.
require(require('node:worker_threads').workerData.entry);
