// Imported first by main.ts, so that the global `performance` is the process clock before any
// module reads it (process-clock.ts says why).
import { installProcessClock } from './process-clock.ts';

installProcessClock();
