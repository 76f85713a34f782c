//! The part of MessagePack that MsgPack-RPC with the board's router needs: every type can be
//! read (the router may answer anything), and what the planner sends can be written. Small
//! enough not to justify a crate in the size-bound board binary.

/// A MessagePack value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Ext(i8, Vec<u8>),
}

/// Why bytes could not be read as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More bytes are needed (a message split across reads).
    #[error("incomplete message")]
    Incomplete,
    #[error("invalid MessagePack: {0}")]
    Invalid(&'static str),
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 32;

/// Appends `value` to `out`.
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(n) => encode_int(*n, out),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Str(s) => {
            let len = s.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else {
                sized(out, len, [0xd9, 0xda, 0xdb]);
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bin(b) => {
            sized(out, b.len(), [0xc4, 0xc5, 0xc6]);
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            if items.len() < 16 {
                out.push(0x90 | items.len() as u8);
            } else {
                collection(out, items.len(), 0xdc);
            }
            for item in items {
                encode(item, out);
            }
        }
        Value::Map(pairs) => {
            if pairs.len() < 16 {
                out.push(0x80 | pairs.len() as u8);
            } else {
                collection(out, pairs.len(), 0xde);
            }
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
        }
        Value::Ext(kind, data) => {
            sized(out, data.len(), [0xc7, 0xc8, 0xc9]);
            out.push(*kind as u8);
            out.extend_from_slice(data);
        }
    }
}

/// A length header with the 8-, 16- or 32-bit form of `markers`. Lengths past u32 do not
/// occur in what this process sends.
fn sized(out: &mut Vec<u8>, len: usize, markers: [u8; 3]) {
    if len < 256 {
        out.extend_from_slice(&[markers[0], len as u8]);
    } else if len < 65_536 {
        out.push(markers[1]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(markers[2]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The 16- or 32-bit header of an array (`0xdc`) or a map (`0xde`) of `len` entries.
fn collection(out: &mut Vec<u8>, len: usize, marker16: u8) {
    if len < 65_536 {
        out.push(marker16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(marker16 + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_int(n: i128, out: &mut Vec<u8>) {
    if (0..128).contains(&n) {
        out.push(n as u8);
    } else if (-32..0).contains(&n) {
        out.push(n as i8 as u8);
    } else if n > 0 {
        if n <= i128::from(u8::MAX) {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= i128::from(u16::MAX) {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= i128::from(u32::MAX) {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= i128::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= i128::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= i128::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&(n as i64).to_be_bytes());
    }
}

/// The first value of `bytes` and how many bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(Value, usize), DecodeError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(0)?;
    Ok((value, reader.at))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::Incomplete)?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(DecodeError::Incomplete)?;
        self.at = end;
        Ok(slice)
    }

    fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn int(&mut self, width: usize) -> Result<i128, DecodeError> {
        let raw = self.uint(width)?;
        let shift = 64 - 8 * width as u32;
        Ok(i128::from(((raw << shift) as i64) >> shift))
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
        usize::try_from(self.uint(width)?).map_err(|_| DecodeError::Invalid("length"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Invalid("nested too deep"));
        }
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Value::Int(i128::from(marker)),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f))?,
            0xc0 => Value::Nil,
            0xc1 => return Err(DecodeError::Invalid("marker 0xc1")),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let len = self.len(1 << (marker - 0xc4))?;
                Value::Bin(self.take(len)?.to_vec())
            }
            0xc7..=0xc9 => {
                let len = self.len(1 << (marker - 0xc7))?;
                let kind = self.take(1)?[0] as i8;
                Value::Ext(kind, self.take(len)?.to_vec())
            }
            0xca => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::Int(i128::from(self.uint(1 << (marker - 0xcc))?)),
            0xd0..=0xd3 => Value::Int(self.int(1 << (marker - 0xd0))?),
            0xd4..=0xd8 => {
                let kind = self.take(1)?[0] as i8;
                Value::Ext(kind, self.take(1 << (marker - 0xd4))?.to_vec())
            }
            0xd9..=0xdb => {
                let len = self.len(1 << (marker - 0xd9))?;
                self.str(len)?
            }
            0xdc | 0xdd => {
                let len = self.len(if marker == 0xdc { 2 } else { 4 })?;
                self.array(len, depth)?
            }
            0xde | 0xdf => {
                let len = self.len(if marker == 0xde { 2 } else { 4 })?;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::Int(i128::from(marker as i8)),
        })
    }

    fn str(&mut self, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map(Value::Str)
            .map_err(|_| DecodeError::Invalid("string is not UTF-8"))
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        // Each element takes at least a byte: a claimed length past the input is incomplete,
        // and nothing is reserved for it.
        let mut items = Vec::with_capacity(len.min(self.bytes.len() - self.at));
        for _ in 0..len {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let mut pairs = Vec::with_capacity(len.min(self.bytes.len() - self.at));
        for _ in 0..len {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            pairs.push((key, value));
        }
        Ok(Value::Map(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: Value) {
        let mut bytes = Vec::new();
        encode(&value, &mut bytes);
        assert_eq!(
            decode(&bytes),
            Ok((value.clone(), bytes.len())),
            "{value:?}"
        );
        for cut in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..cut]),
                Err(DecodeError::Incomplete),
                "{value:?}"
            );
        }
    }

    #[test]
    fn values_round_trip_and_a_cut_message_is_incomplete() {
        for n in [
            0,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            u32::MAX as i128,
            u64::MAX as i128,
            -1,
            -32,
            -33,
            -128,
            -129,
            -32_769,
            i64::MIN as i128,
        ] {
            round_trip(Value::Int(n));
        }
        round_trip(Value::Nil);
        round_trip(Value::Bool(true));
        round_trip(Value::Float(-1.5));
        round_trip(Value::Str("x".repeat(31)));
        round_trip(Value::Str("é".repeat(200)));
        round_trip(Value::Bin(vec![1; 300]));
        round_trip(Value::Array((0..20).map(Value::Int).collect()));
        round_trip(Value::Map(vec![(Value::Str("k".into()), Value::Nil)]));
        round_trip(Value::Ext(5, vec![1, 2, 3]));
    }

    #[test]
    fn the_rpc_request_matches_the_spec_bytes() {
        // [0, 1, "ping", [1, true]] as the router's README writes it.
        let request = Value::Array(vec![
            Value::Int(0),
            Value::Int(1),
            Value::Str("ping".into()),
            Value::Array(vec![Value::Int(1), Value::Bool(true)]),
        ]);
        let mut bytes = Vec::new();
        encode(&request, &mut bytes);
        assert_eq!(
            bytes,
            [
                0x94, 0x00, 0x01, 0xa4, b'p', b'i', b'n', b'g', 0x92, 0x01, 0xc3
            ]
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert_eq!(decode(&[0xc1]), Err(DecodeError::Invalid("marker 0xc1")));
        assert_eq!(
            decode(&[0xa1, 0xff]),
            Err(DecodeError::Invalid("string is not UTF-8"))
        );
        // A huge claimed array with no elements behind it.
        assert_eq!(
            decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::Incomplete)
        );
        let deep = vec![0x91; 100];
        assert_eq!(decode(&deep), Err(DecodeError::Invalid("nested too deep")));
    }
}
