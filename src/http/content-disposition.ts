// Content-Disposition for any stored file name, RFC 6266: always both a
// plain-ASCII `filename` for old clients and `filename*` (RFC 8187) with the
// exact UTF-8 name. The header is built from printable ASCII only, so no name
// can make Node reject the header (ERR_INVALID_CHAR) or inject a field.
// Written out because the content-disposition package omits `filename*` for
// ASCII names; the tests check the output with its parser.

// RFC 8187 attr-char: what may stay unencoded in filename*.
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/
const COMBINING_MARKS = /[\u0300-\u036f]/g

export function contentDisposition (type: 'inline' | 'attachment', fileName: string): string {
  const name = fileName === '' ? 'file' : fileName
  return `${type}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeExtValue(name)}`
}

function encodeExtValue (value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** "Résumé №1 “final”.pdf" -> "Resume No1 _final_.pdf": compatibility forms, accents dropped, the rest replaced. */
function asciiFallback (name: string): string {
  const ascii = name.normalize('NFKD').replace(COMBINING_MARKS, '')
  // Quotes and backslashes would need escaping; % would be mis-decoded by some clients.
  const safe = ascii.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  return /[A-Za-z0-9]/.test(safe) ? safe : `file${extensionOf(safe)}`
}

function extensionOf (name: string): string {
  const match = /\.[A-Za-z0-9]{1,16}$/.exec(name)
  return match ? match[0] : ''
}
