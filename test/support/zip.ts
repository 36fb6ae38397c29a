// A one-file ZIP archive built by hand, so tests control exactly what is
// inside (an EICAR member, stored or deflated).
import { crc32, deflateRawSync } from 'node:zlib'

export /** A one-file ZIP archive (PKWARE APPNOTE 4.3), stored or deflated. */
function zip (name: string, data: Buffer, method: 'store' | 'deflate'): Buffer {
  const body = method === 'deflate' ? deflateRawSync(data) : data
  const fileName = Buffer.from(name)
  const fields = (signature: number, size: number) => {
    const header = Buffer.alloc(size)
    header.writeUInt32LE(signature, 0)
    return header
  }
  const local = fields(0x04034b50, 30)
  local.writeUInt16LE(20, 4)
  local.writeUInt16LE(method === 'deflate' ? 8 : 0, 8)
  local.writeUInt16LE(0x21, 12) // 1980-01-01
  local.writeUInt32LE(crc32(data), 14)
  local.writeUInt32LE(body.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(fileName.length, 26)
  const central = fields(0x02014b50, 46)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  local.copy(central, 10, 8, 28) // method, time, date, CRC-32, sizes, name length
  const end = fields(0x06054b50, 22)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + fileName.length, 12)
  end.writeUInt32LE(local.length + fileName.length + body.length, 16)
  return Buffer.concat([local, fileName, body, central, fileName, end])
}
