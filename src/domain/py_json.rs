//! JSON as Python writes it: floats in `repr` form (`10.0`, `1e+16`, `1.5e-05`), and either
//! `json.dumps`' defaults (`", "` and `": "` as separators, non-ASCII escaped; the generator's
//! NDJSON stream) or the web framework's compact form (`,` and `:`, UTF-8 kept; every JSON
//! answer). A client comparing bytes with the reference sees the same text.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// Python's `repr(float)`: the shortest string that reads back to the same value, in fixed
/// notation for decimal exponents from −4 to 15 and scientific notation otherwise.
pub fn py_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.abs()));
    }
    out
}

/// The `serde_json` formatter that writes Python's JSON text.
#[derive(Clone, Copy, Debug)]
pub struct PythonFormatter {
    item_separator: &'static [u8],
    key_separator: &'static [u8],
    ensure_ascii: bool,
}

impl PythonFormatter {
    /// `json.dumps(value)` with its defaults.
    pub const DUMPS: PythonFormatter = PythonFormatter {
        item_separator: b", ",
        key_separator: b": ",
        ensure_ascii: true,
    };

    /// The web framework's JSON answers: `json.dumps(value, ensure_ascii=False,
    /// separators=(",", ":"))`.
    pub const COMPACT: PythonFormatter = PythonFormatter {
        item_separator: b",",
        key_separator: b":",
        ensure_ascii: false,
    };
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(py_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(self.item_separator)
        }
    }

    /// Keys are separated as array items are.
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.begin_array_value(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(self.key_separator)
    }

    /// With `ensure_ascii`, every non-ASCII character becomes `\uXXXX` (a surrogate pair above
    /// the basic plane).
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !self.ensure_ascii || fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // Python escapes control characters as `\u00XX` in lower-case hex, like serde_json.
        serde_json::ser::CompactFormatter.write_char_escape(writer, char_escape)
    }
}

/// Appends `value` to `out` in the given flavour of Python's JSON text.
pub fn write_python_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    formatter: PythonFormatter,
) -> serde_json::Result<()> {
    let mut serializer = Serializer::with_formatter(out, formatter);
    value.serialize(&mut serializer)
}

/// `json.dumps(value)`.
#[cfg(test)]
pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write_python_json(&mut out, value, PythonFormatter::DUMPS)?;
    Ok(String::from_utf8(out).expect("the formatter writes valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `(bits of the f64, repr(value) in CPython 3.11)`.
    const PYTHON_REPR: &[(u64, &str)] = &[
        (0, "0.0"),
        (9223372036854775808, "-0.0"),
        (4607182418800017408, "1.0"),
        (4621819117588971520, "10.0"),
        (13845191154443747328, "-10.0"),
        (4591870180066957722, "0.1"),
        (4621819117588971519, "9.999999999999998"),
        (4846369599423283200, "1e+16"),
        (4831355200913801216, "1000000000000000.0"),
        (4817745636528479846, "123456789012345.6"),
        (4832797072101665539, "1234567890123456.8"),
        (4547007122018943789, "0.0001"),
        (4532020583610935537, "1e-05"),
        (4548686525128629352, "0.00012345"),
        (4504762867522569078, "1.5e-07"),
        (4936209963552724370, "1e+22"),
        (118622047889322841, "1e-300"),
        (1, "5e-324"),
        (9218868437227405311, "1.7976931348623157e+308"),
        (4612811918334230528, "2.5"),
        (13826050856027422720, "-0.5"),
        (4636737291354636288, "100.0"),
        (4651831386980745216, "980.0"),
        (4617315517961601023, "4.999999999999999"),
        (4599676419421066581, "0.3333333333333333"),
        (6103021453049119613, "1e+100"),
        (4712889646492470477, "12345678.9"),
        (4712128852136459333, "10928588.983213553"),
        (6613812840851947673, "1.4186613525849614e+134"),
        (12736496262939004471, "-7.571968556055867e-74"),
        (15523137368101252074, "-1.4074705188261364e+113"),
        (12027861843233603113, "-3.3339745473042614e-121"),
        (9777509567454608800, "-1.2342180766211395e-271"),
        (15501686781378355951, "-5.126864004244935e+111"),
        (14313909076419087323, "-2.1520217579844227e+32"),
        (4594210616595436404, "0.1399601630397701"),
        (956523682424107605, "1.01853664031722e-244"),
        (2893396244277848635, "2.9704598186234577e-115"),
        (6858376947525423350, "3.0534183338726823e+150"),
        (16019991071338850466, "-2.3027782228163463e+146"),
        (7023743836218156456, "3.56409621163656e+161"),
        (1881095652490078568, "6.352929017207453e-183"),
        (4599339987076239173, "0.3146575865605324"),
        (13487958864562975641, "-1.2761724801771812e-23"),
        (7529058068588108450, "2.0868668176225336e+195"),
        (3358703120032737309, "3.66898827745704e-84"),
        (16001795929641688097, "-1.389122273370197e+145"),
        (7183850473961985349, "1.7548715433165102e+172"),
        (14055043351701082718, "-1039514241563211.8"),
        (1326906338224231255, "5.7804021771411506e-220"),
        (11398726226450727658, "-2.8497478716107576e-163"),
        (8205770171119394379, "3.490691392124745e+240"),
        (2439413297207794790, "1.3282314387596086e-145"),
        (17936457123788771632, "-2.9317061175715426e+274"),
        (98010135235158442, "4.1124768973349897e-302"),
        (14270285075313520379, "-2.5983853818656714e+29"),
        (17711218894991640089, "-2.5839922981649337e+259"),
        (3059511337525703479, "3.7615508677292285e-104"),
        (3071096560362593664, "2.1435728770450893e-103"),
        (5785846489742829405, "6.3583676891104784e+78"),
        (3668860471095815154, "2.0062829023357212e-63"),
        (16161541708973771926, "-6.792475937705741e+155"),
        (11542684757909720132, "-1.1878910286585398e-153"),
        (3351195362259660331, "1.1477511623364303e-84"),
        (17866718932088638871, "-6.384685499984821e+269"),
        (3631777322866960663, "6.725524671613862e-66"),
        (17802886106043171366, "-3.3367034274052276e+265"),
        (4695011642605738942, "787483.3551529569"),
        (13914029210146569676, "-402422.20429226453"),
        (13911885126845875530, "-277620.1305552317"),
        (13917358080187680684, "-668087.8857405088"),
        (13917706043793694217, "-708596.180918635"),
        (13919090091784984771, "-869720.5732486475"),
        (13913940898646837170, "-397281.79846107506"),
        (4686325677906049672, "206219.99481530883"),
        (13920151061991176839, "-993233.7612512865"),
        (4689857386726480932, "355868.4990953824"),
        (13912685470743189904, "-324206.27674426977"),
        (13913645445069121704, "-380084.1367937424"),
        (4693719310947862560, "637036.1492941417"),
        (13898897573235712400, "-38509.626739922096"),
        (13913444950008789700, "-368413.78830711194"),
        (13898767501118221648, "-37563.2275262723"),
        (4690775990366402580, "409338.2682818186"),
        (13919229915026670871, "-885998.1409284201"),
        (4696409360436879846, "950199.1262884706"),
        (13919816356153961925, "-954268.8734945586"),
    ];

    #[test]
    fn float_repr_matches_python() {
        for &(bits, expected) in PYTHON_REPR {
            assert_eq!(py_float_repr(f64::from_bits(bits)), expected, "bits {bits}");
        }
    }

    #[test]
    fn separators_and_escapes_match_json_dumps() {
        let value = json!({"a": [1, 2.0, "é😀"], "b": {"c": null, "d": true}, "e": "\n"});
        // json.dumps({"a": [1, 2.0, "é😀"], "b": {"c": None, "d": True}, "e": "\n"})
        assert_eq!(
            to_python_json(&value).unwrap(),
            r#"{"a": [1, 2.0, "\u00e9\ud83d\ude00"], "b": {"c": null, "d": true}, "e": "\n"}"#
        );
    }

    #[test]
    fn compact_form_keeps_utf8() {
        let mut out = Vec::new();
        write_python_json(
            &mut out,
            &json!({"a": [1.0, "é"], "b": 1e-5}),
            PythonFormatter::COMPACT,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":[1.0,"é"],"b":1e-05}"#
        );
    }

    #[test]
    fn empty_containers_have_no_separators() {
        assert_eq!(
            to_python_json(&json!({"s": [], "m": {}})).unwrap(),
            r#"{"m": {}, "s": []}"#
        );
    }
}
