// EXIF orientations (TIFF 6.0 tag 274, values 1-8) as the eight symmetries
// of a rectangle, so that HEIF's irot/imir transforms (ISO/IEC 23008-12
// §6.5.10, §6.5.12), which may come in any number and order, reduce to the
// one EXIF value with the same effect, and so that a value tells whether
// the displayed width and height are swapped.
//
// A transform is a 2x2 matrix [a, b, c, d] (row-major) acting on image
// directions, x to the right and y downwards: the displayed direction of a
// stored direction (x, y) is (a·x + b·y, c·x + d·y).

type Matrix = readonly [number, number, number, number]

// What EXIF value n asks a viewer to do to the stored pixels.
const EXIF: readonly Matrix[] = [
  [1, 0, 0, 1], // 1: as stored
  [-1, 0, 0, 1], // 2: mirror left-right
  [-1, 0, 0, -1], // 3: rotate 180°
  [1, 0, 0, -1], // 4: mirror top-bottom
  [0, 1, 1, 0], // 5: transpose (rotate 90° clockwise, then mirror left-right)
  [0, -1, 1, 0], // 6: rotate 90° clockwise
  [0, -1, -1, 0], // 7: transverse (rotate 90° clockwise, then mirror top-bottom)
  [0, 1, -1, 0] // 8: rotate 90° counter-clockwise
]

const CLOCKWISE: Matrix = EXIF[5]!
const MIRROR_LEFT_RIGHT: Matrix = EXIF[1]!
const MIRROR_TOP_BOTTOM: Matrix = EXIF[3]!

/** A step of HEIF's transform chain. */
export type HeifTransform =
  | { type: 'irot', quarterTurnsCounterClockwise: number }
  /** axis as libheif reads it: 0 mirrors top-bottom, 1 mirrors left-right. */
  | { type: 'imir', axis: 0 | 1 }

function multiply (m: Matrix, n: Matrix): Matrix {
  return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3]]
}

function exifOf (m: Matrix): number {
  return EXIF.findIndex((e) => e.every((value, i) => value === m[i])) + 1
}

/** The EXIF orientation with the same effect as HEIF transforms applied in order. */
export function orientationOfTransforms (transforms: readonly HeifTransform[]): number {
  let m: Matrix = EXIF[0]!
  for (const step of transforms) {
    if (step.type === 'imir') {
      m = multiply(step.axis === 1 ? MIRROR_LEFT_RIGHT : MIRROR_TOP_BOTTOM, m)
    } else {
      // n quarter-turns counter-clockwise are 4 - n quarter-turns clockwise.
      for (let i = 0; i < (4 - (step.quarterTurnsCounterClockwise % 4)) % 4; i++) m = multiply(CLOCKWISE, m)
    }
  }
  return exifOf(m)
}

/** Whether an orientation turns the image by a quarter turn (width and height swap). */
export function swapsDimensions (orientation: number): boolean {
  return orientation >= 5 && orientation <= 8
}

export function isOrientation (value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 8
}
