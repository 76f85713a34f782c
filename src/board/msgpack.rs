//! The MsgPack-RPC messages exchanged with the board's router, on the `rmp` crate's low-level
//! encoder and decoder (its no_std part: no serde, no dynamic values).

use rmp::Marker;
use rmp::decode::{self, Bytes};
use rmp::encode::{self, ByteBuf};

/// Bytes the router sent that are not MsgPack-RPC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MsgPack-RPC: {0}")]
pub struct Invalid(pub &'static str);

/// A request `[0, id, method, params]` with integer parameters.
pub fn request(id: u32, method: &str, params: &[i64]) -> Vec<u8> {
    let mut buf = ByteBuf::with_capacity(8 + method.len() + 9 * params.len());
    // Writing to memory cannot fail (the error type is `Infallible`).
    let _ = encode::write_array_len(&mut buf, 4);
    let _ = encode::write_uint(&mut buf, 0);
    let _ = encode::write_uint(&mut buf, u64::from(id));
    let _ = encode::write_str(&mut buf, method);
    let _ = encode::write_array_len(&mut buf, params.len() as u32);
    for param in params {
        let _ = encode::write_sint(&mut buf, *param);
    }
    buf.into_vec()
}

/// The router's messages hold a handful of values; far more is not one of them.
const MAX_ITEMS: u64 = 1 << 16;

/// The length of the first whole message at the start of `bytes`; `None` while it is cut.
///
/// Not rmp's `MessageLen`: it panics on ext values (`todo!()` in 0.8.15) and reports a
/// limit it exceeds as a cut message. Each value takes at least one byte, so the walk ends
/// within `bytes`, without recursion.
pub fn message_len(bytes: &[u8]) -> Result<Option<usize>, Invalid> {
    let mut at = 0usize;
    // Values still to be walked: the message, then the items of the arrays and maps in it.
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let Some(&byte) = bytes.get(at) else {
            return Ok(None);
        };
        at += 1;
        // The width of a length field that follows the marker, or a fixed payload size.
        let (len_width, fixed, items_per_len) = match Marker::from_u8(byte) {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
                (0, 0, 0)
            }
            Marker::U8 | Marker::I8 => (0, 1, 0),
            Marker::U16 | Marker::I16 => (0, 2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (0, 4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (0, 8, 0),
            Marker::FixStr(n) => (0, usize::from(n), 0),
            Marker::FixExt1 => (0, 2, 0),
            Marker::FixExt2 => (0, 3, 0),
            Marker::FixExt4 => (0, 5, 0),
            Marker::FixExt8 => (0, 9, 0),
            Marker::FixExt16 => (0, 17, 0),
            Marker::FixArray(n) => {
                pending += u64::from(n);
                (0, 0, 0)
            }
            Marker::FixMap(n) => {
                pending += 2 * u64::from(n);
                (0, 0, 0)
            }
            Marker::Str8 | Marker::Bin8 => (1, 0, 0),
            Marker::Str16 | Marker::Bin16 => (2, 0, 0),
            Marker::Str32 | Marker::Bin32 => (4, 0, 0),
            // The length, then the type byte and the data.
            Marker::Ext8 => (1, 1, 0),
            Marker::Ext16 => (2, 1, 0),
            Marker::Ext32 => (4, 1, 0),
            Marker::Array16 => (2, 0, 1),
            Marker::Array32 => (4, 0, 1),
            Marker::Map16 => (2, 0, 2),
            Marker::Map32 => (4, 0, 2),
            Marker::Reserved => return Err(Invalid("the reserved marker 0xc1")),
        };
        let mut skip = fixed as u64;
        if len_width > 0 {
            let Some(field) = bytes.get(at..at + len_width) else {
                return Ok(None);
            };
            at += len_width;
            let len = field.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
            if items_per_len > 0 {
                pending += items_per_len * len;
            } else {
                skip += len;
            }
        }
        if pending > MAX_ITEMS {
            return Err(Invalid("more values than any router message holds"));
        }
        at = match usize::try_from(skip).ok().and_then(|s| at.checked_add(s)) {
            Some(end) => end,
            None => return Err(Invalid("a length beyond memory")),
        };
        if at > bytes.len() {
            return Ok(None);
        }
    }
    Ok(Some(at))
}

/// A response of the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub id: u32,
    /// `Err` with the router's or the sketch's message.
    pub outcome: Result<(), String>,
}

/// A response `[1, id, error, result]`; `None` for any other message (a request or
/// notification is not ours to answer).
pub fn response(message: &[u8]) -> Result<Option<Response>, Invalid> {
    let mut rd = Bytes::new(message);
    let parts = decode::read_array_len(&mut rd).map_err(|_| Invalid("not an array"))?;
    let kind: u8 = decode::read_int(&mut rd).map_err(|_| Invalid("no message type"))?;
    if parts != 4 || kind != 1 {
        return Ok(None);
    }
    let id: u32 = decode::read_int(&mut rd).map_err(|_| Invalid("no message id"))?;
    let rest = rd.remaining_slice();
    let Some(&first) = rest.first() else {
        return Err(Invalid("no error field"));
    };
    let outcome = match Marker::from_u8(first) {
        Marker::Null => Ok(()),
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
            let len = decode::read_str_len(&mut rd).map_err(|_| Invalid("error text"))? as usize;
            let text = rd
                .remaining_slice()
                .get(..len)
                .ok_or(Invalid("error text"))?;
            Err(String::from_utf8_lossy(text).into_owned())
        }
        // Arduino's libraries may send `[code, text]`.
        _ => Err("an error that is not text".to_owned()),
    };
    Ok(Some(Response { id, outcome }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_matches_the_spec_bytes() {
        assert_eq!(
            request(7, "tp_show", &[2, 300, -1]),
            [
                0x94, 0x00, 0x07, 0xa7, b't', b'p', b'_', b's', b'h', b'o', b'w', 0x93, 0x02, 0xcd,
                0x01, 0x2c, 0xff
            ]
        );
    }

    #[test]
    fn a_cut_message_waits_for_more_and_garbage_is_refused() {
        let whole = [0x94, 0x01, 0x07, 0xc0, 0xc3, 0x94];
        assert_eq!(message_len(&whole), Ok(Some(5)));
        for cut in 0..5 {
            assert_eq!(message_len(&whole[..cut]), Ok(None), "{cut}");
        }
        assert!(message_len(&[0xc1]).is_err());
        // An array claiming 4 billion items: not a router's message, and never waited for.
        assert!(message_len(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Ext values (a timestamp) are walked over like any other.
        let ext = [
            0x92, 0xd6, 0xff, 0, 0, 0, 1, 0xc7, 0x02, 0x05, 0xaa, 0xbb, 0xc0,
        ];
        assert_eq!(message_len(&ext), Ok(Some(12)));
        assert_eq!(message_len(&ext[..11]), Ok(None));
    }

    #[test]
    fn responses_are_told_from_other_messages_and_errors_read() {
        assert_eq!(
            response(&[0x94, 0x01, 0x07, 0xc0, 0xc3]),
            Ok(Some(Response {
                id: 7,
                outcome: Ok(())
            }))
        );
        let mut failed = vec![0x94, 0x01, 0x08, 0xa3];
        failed.extend_from_slice(b"bad");
        failed.push(0xc0);
        assert_eq!(
            response(&failed),
            Ok(Some(Response {
                id: 8,
                outcome: Err("bad".to_owned())
            }))
        );
        // A notification [2, method, params] is not a response.
        assert_eq!(response(&[0x93, 0x02, 0xa1, b'x', 0x90]), Ok(None));
        assert!(response(&[0xc3]).is_err());
    }
}
