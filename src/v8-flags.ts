// V8 settings of the service process, set before anything else is loaded:
// server.ts imports this module first. Only for flags NODE_OPTIONS refuses.
import { setFlagsFromString } from 'node:v8'

// Allocation-site pretenuring: once the objects of one allocation site have
// survived a few young collections (a burst of requests in flight, the
// start), V8 allocates that site's objects straight in the old generation
// from then on, and every one of them, short-lived or not, waits for a full
// collection. Measured with the bench's 20 KiB row, two identical services
// side by side: about one process in two went that way (20 or more
// mark-compacts in a run instead of 3 to 5, 31-41 µs of CPU per request
// instead of 26-28); with pretenuring off, none of eight.
setFlagsFromString('--no-allocation-site-pretenuring')
