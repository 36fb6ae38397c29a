import createError from '@fastify/error'

/**
 * The file carries metadata that could not be checked within the memory
 * bound (or in a layout that streaming cannot reach). Storing it unstripped
 * would break the promise that location never leaves with an original, so
 * the upload is refused instead (fail closed).
 */
export const MetadataUnstrippableError = createError(
  'ATT_METADATA_UNSTRIPPABLE',
  'The location metadata of this file could not be removed: %s',
  422
)
