// The rows of the goals table, measured and printed in this order. A new row
// (a feature's path next to its baseline) is one file in this folder and one
// entry here; see bench/README.md, "Adding a row".
import { audit } from './audit.js'
import { largeDownload } from './large-download.js'
import { memory } from './memory.js'
import { readyPreview } from './preview.js'
import { revalidation } from './revalidation.js'
import type { BenchRow } from './row.js'
import { smallImage } from './small-image.js'
import { upload } from './upload.js'

export const ROWS: readonly BenchRow[] = [revalidation, smallImage, readyPreview, audit, largeDownload, memory, upload]
