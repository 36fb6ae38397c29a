// Adds irot/imir transforms to the primary item of a HEIF file, as iPhones
// write them: heif-enc 1.15 has no option for it and exiftool cannot write
// them. The new properties go to the end of ipco and of the primary item's
// ipma entry (marked essential); every box around them grows, and iloc's
// file offsets behind the meta box move by as much.

export type Transform = { irot: number } | { imir: 0 | 1 }

interface Box { type: string, start: number, end: number, header: number }

function boxes (data: Buffer, start: number, end: number): Box[] {
  const list: Box[] = []
  for (let at = start; at + 8 <= end;) {
    const size = data.readUInt32BE(at)
    if (size < 8) throw new Error('unsupported box size')
    list.push({ type: data.toString('latin1', at + 4, at + 8), start: at, end: at + size, header: 8 })
    at += size
  }
  return list
}

function box (type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt32BE(8 + payload.length)
  header.write(type, 4, 'latin1')
  return Buffer.concat([header, payload])
}

/** The transforms of EXIF orientation n, in libheif's terms (imir axis 1: left-right). */
export function transformsOf (orientation: number): Transform[] {
  return ([[], [], [{ imir: 1 }], [{ irot: 2 }], [{ imir: 0 }], [{ irot: 3 }, { imir: 1 }], [{ irot: 3 }], [{ irot: 3 }, { imir: 0 }], [{ irot: 1 }]] as Transform[][])[orientation]!
}

export function addTransforms (file: Buffer, transforms: Transform[]): Buffer {
  const top = boxes(file, 0, file.length)
  const meta = top.find((b) => b.type === 'meta')!
  const inMeta = boxes(file, meta.start + 12, meta.end)
  const pitm = inMeta.find((b) => b.type === 'pitm')!
  const primary = file[pitm.start + 8] === 0 ? file.readUInt16BE(pitm.start + 12) : file.readUInt32BE(pitm.start + 12)
  const iprp = inMeta.find((b) => b.type === 'iprp')!
  const inIprp = boxes(file, iprp.start + 8, iprp.end)
  const ipco = inIprp.find((b) => b.type === 'ipco')!
  const ipma = inIprp.find((b) => b.type === 'ipma')!

  const existing = boxes(file, ipco.start + 8, ipco.end).length
  const added = transforms.map((t) => 'irot' in t ? box('irot', Buffer.from([t.irot & 3])) : box('imir', Buffer.from([t.imir])))
  const newIpco = box('ipco', Buffer.concat([file.subarray(ipco.start + 8, ipco.end), ...added]))
  const newIpma = box('ipma', addAssociations(file.subarray(ipma.start + 8, ipma.end), primary, added.map((_, i) => existing + 1 + i)))
  const newIprp = box('iprp', Buffer.concat(inIprp.map((b) => b === ipco ? newIpco : b === ipma ? newIpma : file.subarray(b.start, b.end))))

  const growth = newIprp.length - (iprp.end - iprp.start)
  const parts = inMeta.map((b) => {
    if (b === iprp) return newIprp
    const bytes = Buffer.from(file.subarray(b.start, b.end))
    if (b.type === 'iloc') shiftIloc(bytes, meta.end, growth)
    return bytes
  })
  const newMeta = box('meta', Buffer.concat([file.subarray(meta.start + 8, meta.start + 12), ...parts]))
  return Buffer.concat([file.subarray(0, meta.start), newMeta, file.subarray(meta.end)])
}

/** ipma payload (version, flags, entries) with `indices` added to `item` as essential associations. */
function addAssociations (payload: Buffer, item: number, indices: number[]): Buffer {
  const version = payload[0]!
  const wide = (payload.readUInt32BE(0) & 1) === 1
  const out: Buffer[] = [payload.subarray(0, 8)]
  const count = payload.readUInt32BE(4)
  let at = 8
  for (let i = 0; i < count; i++) {
    const idBytes = version < 1 ? 2 : 4
    const id = version < 1 ? payload.readUInt16BE(at) : payload.readUInt32BE(at)
    const n = payload[at + idBytes]!
    const entryEnd = at + idBytes + 1 + n * (wide ? 2 : 1)
    if (id !== item) {
      out.push(payload.subarray(at, entryEnd))
    } else {
      const head = Buffer.from(payload.subarray(at, at + idBytes + 1))
      head[idBytes] = n + indices.length
      const more = indices.map((index) => {
        if (!wide) return Buffer.from([0x80 | index])
        const two = Buffer.alloc(2)
        two.writeUInt16BE(0x8000 | index)
        return two
      })
      out.push(head, payload.subarray(at + idBytes + 1, entryEnd), ...more)
    }
    at = entryEnd
  }
  return Buffer.concat(out)
}

/** Moves iloc file offsets (construction method 0) that point behind `after` by `delta`, in place. */
function shiftIloc (iloc: Buffer, after: number, delta: number): void {
  const version = iloc[8]!
  const offsetSize = iloc[12]! >> 4
  const lengthSize = iloc[12]! & 15
  const baseSize = iloc[13]! >> 4
  const indexSize = version > 0 ? iloc[13]! & 15 : 0
  const read = (at: number, size: number) => size === 0 ? 0 : size === 4 ? iloc.readUInt32BE(at) : Number(iloc.readBigUInt64BE(at))
  const write = (at: number, size: number, value: number) => {
    if (size === 4) iloc.writeUInt32BE(value, at)
    else if (size === 8) iloc.writeBigUInt64BE(BigInt(value), at)
  }
  let at = 14
  const count = version < 2 ? iloc.readUInt16BE(at) : iloc.readUInt32BE(at)
  at += version < 2 ? 2 : 4
  for (let i = 0; i < count; i++) {
    at += version < 2 ? 2 : 4
    let method = 0
    if (version > 0) {
      method = iloc.readUInt16BE(at) & 15
      at += 2
    }
    at += 2 // data_reference_index
    const base = read(at, baseSize)
    const baseAt = at
    at += baseSize
    const extents = iloc.readUInt16BE(at)
    at += 2
    const shiftBase = method === 0 && baseSize > 0 && base >= after
    if (shiftBase) write(baseAt, baseSize, base + delta)
    for (let e = 0; e < extents; e++) {
      at += indexSize
      const offset = read(at, offsetSize)
      if (method === 0 && !shiftBase && baseSize === 0 && offset >= after) write(at, offsetSize, offset + delta)
      at += offsetSize + lengthSize
    }
  }
}
