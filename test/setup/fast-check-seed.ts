/**
 * Property tests explore random inputs; `FUZZ_SEED=<integer>` pins the seed so a run is reproducible. CI pins it (a
 * flaky gate blocks everyone); `npm run fuzz` leaves it random to keep exploring. A failure prints its own seed.
 */
import fc from 'fast-check';

const seed = Number(process.env.FUZZ_SEED);
if (Number.isInteger(seed)) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
