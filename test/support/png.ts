// The tests' PNG files come from the same encoder as the sample image of `npm run dev`.
export { encodePng } from '../../scripts/dev/png.js'
