//! JSON5 numbers: decimal (with the JSON5 sign and point forms), hexadecimal, `Infinity` and
//! `NaN`, as `serde_json` values.

use serde_json::{Number, Value};

use super::json5::{PResult, Parser, Stop};

impl Parser<'_> {
    pub(super) fn number(&mut self) -> PResult<Value> {
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };

        match self.peek() {
            // Signed `Infinity` / `NaN` (or their prefixes at the end in partial mode).
            Some(b'I' | b'N') => return self.literal(),
            Some(b'0') if matches!(self.byte_at(self.pos + 1), Some(b'x' | b'X')) => {
                self.pos += 2;
                return self.hex_number(negative);
            }
            _ => {}
        }

        let int_start = self.pos;
        self.skip_digits();
        let int_end = self.pos;
        if int_end - int_start > 1 && self.byte_at(int_start) == Some(b'0') {
            return Err(Stop); // leading zeros
        }
        let mut has_point = false;
        let mut frac_digits = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            has_point = true;
            let frac_start = self.pos;
            self.skip_digits();
            frac_digits = self.pos - frac_start;
        }
        if int_end == int_start && frac_digits == 0 {
            return Err(Stop); // a sign or point alone
        }

        let mut end = self.pos;
        let mut has_exponent = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            self.skip_digits();
            if self.pos > exp_start {
                has_exponent = true;
                end = self.pos;
            } else if !(self.partial && self.at_end(self.pos)) {
                return Err(Stop);
            }
            // else: partial mode drops an exponent cut off at the end (`1e-` → `1`).
        }

        if self.partial && has_point && frac_digits == 0 && !has_exponent && self.at_end(self.pos) {
            // `12.` at the end: JS `JSON.parse` rejects it, so partial-json drops it.
            return Err(Stop);
        }

        if !has_point && !has_exponent {
            let digits = self.bytes.get(int_start..int_end).unwrap_or_default();
            if let Some(magnitude) = digits_to_u64(digits, 10) {
                return Ok(integer_value(negative, magnitude));
            }
        }
        let text = self.src.get(start..end).ok_or(Stop)?;
        text.parse::<f64>().map(float_value).map_err(|_| Stop)
    }

    /// The digits of a hex number; `pos` is just past `0x`.
    fn hex_number(&mut self, negative: bool) -> PResult<Value> {
        let digits_start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_hexdigit()) {
            self.pos += 1;
        }
        let digits = self.bytes.get(digits_start..self.pos).unwrap_or_default();
        if digits.is_empty() {
            return Err(Stop);
        }
        if let Some(magnitude) = digits_to_u64(digits, 16) {
            return Ok(integer_value(negative, magnitude));
        }
        let magnitude = digits.iter().fold(0.0_f64, |acc, &d| acc * 16.0 + f64::from(hex_digit(d).unwrap_or(0)));
        Ok(float_value(if negative { -magnitude } else { magnitude }))
    }

    fn skip_digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }
}

pub(super) fn hex_digit(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// The value of ASCII `digits` in `radix`, if it fits a `u64`.
fn digits_to_u64(digits: &[u8], radix: u32) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        let digit = char::from(d).to_digit(radix)?;
        acc.checked_mul(u64::from(radix))?.checked_add(u64::from(digit))
    })
}

/// An integer number, as `serde_json` would parse it (`-0` is the float `-0.0`).
fn integer_value(negative: bool, magnitude: u64) -> Value {
    if !negative {
        return Value::Number(Number::from(magnitude));
    }
    if magnitude == 0 {
        return float_value(-0.0);
    }
    match i64::try_from(-i128::from(magnitude)) {
        Ok(n) => Value::Number(Number::from(n)),
        Err(_) => float_value(-(magnitude as f64)),
    }
}

/// A float number; non-finite values become `null`.
fn float_value(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::extract::parse_json5;
    use crate::extract::tests::j5;

    #[test]
    fn json5_integers_stay_integers() {
        assert_eq!(j5("1").to_string(), "1");
        assert_eq!(j5("-42").to_string(), "-42");
        assert_eq!(j5("[1, 2.5]").to_string(), "[1,2.5]");
        assert!(j5("7").is_u64());
        assert!(j5("-7").is_i64());
        assert!(j5("1.0").is_f64());
        assert!(j5("1e2").is_f64());
        assert_eq!(j5("-0").to_string(), "-0.0"); // same as serde_json
    }

    #[test]
    fn json5_hex_numbers() {
        assert_eq!(j5("0x1F"), json!(31));
        assert_eq!(j5("0XaBc"), json!(0xabc));
        assert_eq!(j5("-0x10"), json!(-16));
        assert_eq!(j5("+0x10"), json!(16));
        assert_eq!(j5("0xFFFFFFFFFFFFFFFF"), json!(u64::MAX));
        assert_eq!(j5("0x10000000000000000"), json!(18_446_744_073_709_551_616.0));
        assert_eq!(parse_json5("0x"), None);
        assert_eq!(parse_json5("0xG"), None);
        assert_eq!(parse_json5("0x1.5"), None);
    }

    #[test]
    fn json5_decimal_point_and_sign_forms() {
        assert_eq!(j5(".5"), json!(0.5));
        assert_eq!(j5("5."), json!(5.0));
        assert_eq!(j5("-.5"), json!(-0.5));
        assert_eq!(j5("+1.5"), json!(1.5));
        assert_eq!(j5("+3"), json!(3));
        assert_eq!(j5("5.e2"), json!(500.0));
        assert_eq!(j5("[.5, 5., +1]"), json!([0.5, 5.0, 1]));
        for bad in [".", "+", "-", "-.", ".e1", "1e", "1e+", "01", "-01", "00", "1.2.3", "--1", "+-1", "1x"] {
            assert_eq!(parse_json5(bad), None, "{bad}");
        }
    }

    #[test]
    fn json5_infinity_and_nan_become_null() {
        assert_eq!(j5("Infinity"), Value::Null);
        assert_eq!(j5("-Infinity"), Value::Null);
        assert_eq!(j5("+Infinity"), Value::Null);
        assert_eq!(j5("NaN"), Value::Null);
        assert_eq!(j5("-NaN"), Value::Null);
        assert_eq!(j5("[1e400, -1e400]"), json!([null, null]));
        assert_eq!(j5("{a: Infinity}"), json!({"a": null}));
        assert_eq!(parse_json5("Inf"), None);
        assert_eq!(parse_json5("-null"), None);
        assert_eq!(parse_json5("-true"), None);
    }
}
