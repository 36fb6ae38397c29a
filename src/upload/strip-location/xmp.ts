// Blanks GPS and device-identifier properties of an XMP packet by
// overwriting them with spaces, in place, as the packet streams past. XMP is
// RDF/XML, where whitespace between elements and between attributes is
// insignificant, so the packet keeps its length and stays well-formed:
//   <exif:GPSLatitude>48,51.5N</exif:GPSLatitude>   -> all spaces
//   <rdf:Description exif:GPSLatitude="48,51.5N" ...  -> the attribute spaces
// A property is sensitive when its local name starts with "GPS" (any
// namespace: exif:, exifEX:, Iptc4xmpExt: location structures, drone
// vendors' GpsLatitude) or ends with "SerialNumber" or "OwnerName"
// (aux:SerialNumber, aux:LensSerialNumber, exifEX:BodySerialNumber,
// exifEX:LensSerialNumber, exifEX:CameraOwnerName, aux:OwnerName).
//
// This is a tokenizer, not a validating parser: tags, attributes, comments,
// processing instructions and CDATA sections are recognised; anything else
// passes as text. Bytes are held back only from the start of a tag or
// attribute until its name is known (at most NAME_LIMIT bytes), so memory
// does not grow with the packet.
const SPACE = 0x20
const NAME_LIMIT = 256

/** Whether an XMP property (qualified or local name) must not leave with the original. */
export function isSensitiveProperty (name: string): boolean {
  const local = name.slice(name.indexOf(':') + 1).toLowerCase()
  return local.startsWith('gps') || local.endsWith('serialnumber') || local.endsWith('ownername')
}

const enum State {
  Text, Open, Bang, Comment, Pi, Cdata, Decl,
  StartName, EndName, InTag, AttrName, AfterAttrName, BeforeValue, Value, Opaque
}

const isNameByte = (b: number) => !(b === SPACE || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x2f || b === 0x3e || b === 0x3d || b === 0x3c)
const isSpace = (b: number) => b === SPACE || b === 0x09 || b === 0x0a || b === 0x0d

export class XmpScrubber {
  /** Sensitive properties blanked so far. */
  blanked = 0
  #state = State.Text
  #position = 0 // absolute offset of the next byte
  #held: Buffer[] = []
  #heldStart = 0 // absolute offset of #held[0]
  #tokenStart = 0 // '<' of the current tag, or the first byte of the current attribute
  #name: number[] = []
  #nameTooLong = false
  #bang = '' // bytes after "<!" while telling a comment from CDATA from a declaration
  #terminator = '' // what ends the current comment, PI, CDATA or declaration
  #matched = 0 // how much of #terminator was just seen
  #quote = 0
  #blankElement: string | undefined // the sensitive element being blanked
  #blankDepth = 0
  #blankAttribute = false
  #tagIsEnd = false
  #tagName = ''
  #selfClosing = false

  /** Scans the next bytes (changed in place) and returns those that will not change any more. */
  write (data: Buffer): Buffer[] {
    this.#held.push(data)
    for (let i = 0; i < data.length; i++) {
      // XMP may be UTF-16 or UTF-32, which no camera writes: such a packet is blanked whole.
      if (this.#position < 2 && this.#state !== State.Opaque && (data[i] === 0 || (this.#position === 0 && data[i]! >= 0xfe))) {
        this.#state = State.Opaque
        this.#blank(0, this.#position)
      }
      i = this.#step(data, i)
    }
    return this.#release(this.#settled())
  }

  /** Offset (from the packet's start) before which no byte will change any more. */
  get settled (): number {
    return this.#settled()
  }

  /** The packet ended: everything held is final. */
  end (): Buffer[] {
    return this.#release(Infinity)
  }

  /** Scrubs a whole packet in place; returns how many properties were blanked. */
  static scrub (data: Buffer): number {
    const scrubber = new XmpScrubber()
    scrubber.write(data)
    scrubber.end()
    return scrubber.blanked
  }

  // Before this offset nothing will be changed any more. A name longer than
  // NAME_LIMIT is never blanked, so it is not held either.
  #settled (): number {
    switch (this.#state) {
      case State.Open: case State.Bang:
        return this.#tokenStart
      case State.StartName: case State.EndName:
        return this.#nameTooLong ? this.#position : this.#tokenStart
      case State.AttrName:
        return this.#blankElement !== undefined || this.#nameTooLong ? this.#position : this.#tokenStart
      default:
        return this.#position
    }
  }

  #release (before: number): Buffer[] {
    const out: Buffer[] = []
    while (this.#held.length > 0) {
      const first = this.#held[0]!
      const firstEnd = this.#heldStart + first.length
      if (firstEnd <= before) {
        if (first.length > 0) out.push(first)
        this.#held.shift()
        this.#heldStart = firstEnd
      } else {
        if (before > this.#heldStart) {
          out.push(first.subarray(0, before - this.#heldStart))
          this.#held[0] = first.subarray(before - this.#heldStart)
          this.#heldStart = before
        }
        break
      }
    }
    return out
  }

  // Overwrites [from, to) (absolute offsets) with spaces in what is still held.
  #blank (from: number, to: number): void {
    let start = this.#heldStart
    for (const piece of this.#held) {
      const a = Math.max(from, start) - start
      const b = Math.min(to, start + piece.length) - start
      if (b > a) piece.fill(SPACE, a, b)
      start += piece.length
    }
  }

  // Handles data[i], or a run of bytes from i; returns the last index it consumed.
  #step (data: Buffer, i: number): number {
    const b = data[i]!
    const wasBlanking = this.#blankElement !== undefined
    switch (this.#state) {
      case State.Opaque:
        data.fill(SPACE, i)
        this.blanked = 1
        this.#position += data.length - i
        return data.length
      case State.Text: {
        // Fast path: jump to the next tag.
        const lt = data.indexOf(0x3c, i)
        const stop = lt < 0 ? data.length : lt
        if (wasBlanking) data.fill(SPACE, i, stop)
        this.#position += stop - i
        if (lt < 0) return data.length - 1
        this.#tokenStart = this.#position
        this.#state = State.Open
        this.#advance(data, lt, wasBlanking)
        return lt
      }
      case State.Value: {
        const close = data.indexOf(this.#quote, i)
        const stop = close < 0 ? data.length : close + 1
        if (wasBlanking || this.#blankAttribute) data.fill(SPACE, i, stop)
        this.#position += stop - i
        if (close >= 0) {
          this.#blankAttribute = false
          this.#state = State.InTag
        }
        return stop - 1
      }
      case State.Open:
        if (b === 0x2f) {
          this.#beginName(true)
          this.#state = State.EndName
        } else if (b === 0x21) {
          this.#bang = ''
          this.#state = State.Bang
        } else if (b === 0x3f) {
          this.#expect('?>', State.Pi)
        } else {
          this.#beginName(false)
          this.#state = State.StartName
          this.#pushName(b)
        }
        break
      case State.Bang:
        this.#bang += String.fromCharCode(b)
        if (this.#bang === '--') this.#expect('-->', State.Comment)
        else if (this.#bang === '[CDATA[') this.#expect(']]>', State.Cdata)
        else if (!'--'.startsWith(this.#bang) && !'[CDATA['.startsWith(this.#bang)) this.#expect('>', State.Decl, b)
        break
      case State.Comment: case State.Pi: case State.Cdata: case State.Decl:
        this.#matchTerminator(b)
        break
      case State.StartName: case State.EndName:
        if (isNameByte(b)) {
          this.#pushName(b)
        } else {
          this.#tagName = this.#nameTooLong ? '' : Buffer.from(this.#name).toString('latin1')
          this.#elementNamed()
          this.#state = State.InTag
          this.#inTag(b)
        }
        break
      case State.InTag:
        this.#inTag(b)
        break
      case State.AttrName:
        if (isNameByte(b)) {
          this.#pushName(b)
        } else {
          const name = Buffer.from(this.#name).toString('latin1')
          if (!wasBlanking && !this.#nameTooLong && !name.startsWith('xmlns') && isSensitiveProperty(name)) {
            this.#blankAttribute = true
            this.blanked++
            this.#blank(this.#tokenStart, this.#position)
          }
          this.#state = State.AfterAttrName
          this.#afterAttrName(b)
        }
        break
      case State.AfterAttrName:
        this.#afterAttrName(b)
        break
      case State.BeforeValue:
        if (b === 0x22 || b === 0x27) {
          this.#quote = b
          this.#state = State.Value
        } else if (!isSpace(b)) {
          // A value without quotes is not XML: read on as part of the tag.
          this.#blankAttribute = false
          this.#state = State.InTag
          this.#inTag(b)
        }
        break
    }
    // A byte is blanked when it is inside a sensitive element or attribute,
    // including the '>' that opens or closes one.
    this.#advance(data, i, wasBlanking || this.#blankElement !== undefined || this.#blankAttribute)
    return i
  }

  #advance (data: Buffer, i: number, blank: boolean): void {
    if (blank) data[i] = SPACE
    this.#position++
  }

  #expect (terminator: string, state: State, first?: number): void {
    this.#terminator = terminator
    this.#matched = 0
    this.#state = state
    if (first !== undefined) this.#matchTerminator(first)
  }

  // Terminators are "-->", "]]>", "?>" or ">": after a mismatch only a
  // repeat of the first character can restart a match.
  #matchTerminator (b: number): void {
    const t = this.#terminator
    if (b === t.charCodeAt(this.#matched)) {
      if (++this.#matched === t.length) this.#state = State.Text
    } else if (b === t.charCodeAt(0)) {
      this.#matched = t.length === 3 && t[1] === t[0] ? 2 : 1
    } else {
      this.#matched = 0
    }
  }

  #beginName (isEnd: boolean): void {
    this.#name = []
    this.#nameTooLong = false
    this.#tagIsEnd = isEnd
    this.#selfClosing = false
  }

  #pushName (b: number): void {
    if (this.#name.length < NAME_LIMIT) this.#name.push(b)
    else this.#nameTooLong = true
  }

  // The element's name is complete: start blanking a sensitive element, or
  // track nesting inside one (only elements of the same name can close it).
  #elementNamed (): void {
    const name = this.#tagName
    if (this.#blankElement !== undefined) {
      if (name === this.#blankElement) this.#blankDepth += this.#tagIsEnd ? -1 : 1
    } else if (!this.#tagIsEnd && name !== '' && isSensitiveProperty(name)) {
      this.#blankElement = name
      this.#blankDepth = 1
      this.blanked++
      this.#blank(this.#tokenStart, this.#position)
    }
  }

  #inTag (b: number): void {
    if (b === 0x3e) {
      this.#state = State.Text
      if (this.#blankElement === undefined) return
      if (this.#selfClosing && !this.#tagIsEnd && this.#tagName === this.#blankElement) this.#blankDepth--
      if (this.#blankDepth === 0) this.#blankElement = undefined
    } else if (b === 0x2f) {
      this.#selfClosing = true
    } else if (!isSpace(b) && !this.#tagIsEnd) {
      this.#selfClosing = false
      this.#name = []
      this.#nameTooLong = false
      this.#tokenStart = this.#position
      this.#state = State.AttrName
      this.#pushName(b)
    }
  }

  #afterAttrName (b: number): void {
    if (b === 0x3d) {
      this.#state = State.BeforeValue
    } else if (!isSpace(b)) {
      this.#blankAttribute = false
      this.#state = State.InTag
      this.#inTag(b)
    }
  }
}
