/**
 * The Node options every launch of edgelake carries: the `#!` line of src/cli/main.ts (what `npx
 * edgelake` runs), the Dockerfile's ENTRYPOINT, the Bacalhau jobs' Entrypoint, `npm start` and
 * the demo's nodes (test/node-flags.test.ts holds them together). `node build/cli/main.js`
 * without them works the same, with more memory.
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MiB a semi-space (the default grows
 * to 16). The main thread of a run receives every batch's columns and bodies from the workers and
 * drops them soon after; with the default, V8 let its young generation grow to 16–24 MiB (bench/memory.ts), and the
 * dead ArrayBuffers those objects keep alive waited for a rarer scavenge. The flag is process-wide,
 * but the workers' young generation measured 8 MiB with it as without (bench/memory.ts). V8 reads
 * it only when an isolate is made, never later (v8.setFlagsFromString comes too late for the main
 * thread), which is why the options live at the launch and not in code. bench/README.md, ninth
 * pass, has the pairs that chose it.
 *
 * `--heap-growing-percent=200` fixes the factor by which V8 lets a thread's old generation grow
 * past what its last full collection kept, before the next one, at 3. V8's own factor moves
 * between 1.1 and 4 with how fast its collector runs; on a long drain the old generations (the
 * main thread's, which takes every batch from the workers; the workers', which build the objects)
 * held more dead objects than with 3: a 10M-row enriched Parquet drain peaked at 294–305 MiB with
 * V8's factor and at 266–273 MiB with 3, in the same time (27–29 s against 28–31), and the other
 * stages moved 5–35 MiB lower within the noise of their time (bench/README.md, tenth pass). 1.5
 * (`=50`) took that drain to 233–240 MiB but cost 10–20 % more CPU in full collections.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=200'];
