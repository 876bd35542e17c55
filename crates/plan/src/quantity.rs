//! Kubernetes resource quantities, as far as the plan controller compares them
//! (`resource.ParseQuantity` and `Cmp`), without floating point.

use std::cmp::Ordering;

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    digits: Vec<u8>,
    exp10: i64,
    exp2: i64,
}

/// apimachinery's error for a string that is not a quantity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)]
pub struct QuantityError;

impl Quantity {
    /// Parses a quantity: a decimal number, then a binary suffix (`Ki`…`Ei`), a decimal
    /// suffix (`n u m k M G T P E`) or a decimal exponent (`e3`, `E-2`).
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let s = text.trim();
        if s.is_empty() || s.len() > 128 {
            return Err(QuantityError);
        }
        let (negative, rest) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(QuantityError);
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let mut digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .collect();
        let mut exp10 = -(frac_part.len() as i64);
        let mut exp2 = 0;
        match suffix {
            "" => {}
            "Ki" => exp2 = 10,
            "Mi" => exp2 = 20,
            "Gi" => exp2 = 30,
            "Ti" => exp2 = 40,
            "Pi" => exp2 = 50,
            "Ei" => exp2 = 60,
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            other => {
                let exponent = other
                    .strip_prefix('e')
                    .or_else(|| other.strip_prefix('E'))
                    .ok_or(QuantityError)?;
                let value: i64 = exponent.parse().map_err(|_| QuantityError)?;
                if !(-100..=100).contains(&value) {
                    return Err(QuantityError);
                }
                exp10 += value;
            }
        }
        while digits.len() > 1 && digits[0] == 0 {
            digits.remove(0);
        }
        Ok(Self {
            negative: negative && digits.iter().any(|d| *d != 0),
            digits,
            exp10,
            exp2,
        })
    }

    /// The value in units of `10^exp10 × 2^exp2` (both at most the quantity's own), or
    /// `None` when it does not fit in a `u128`.
    fn scaled(&self, exp10: i64, exp2: i64) -> Option<u128> {
        let mut value: u128 = 0;
        for d in &self.digits {
            value = value.checked_mul(10)?.checked_add(u128::from(*d))?;
        }
        let shift10 = self.exp10 - exp10;
        let shift2 = self.exp2 - exp2;
        if shift10 < 0 || shift2 < 0 {
            return None;
        }
        for _ in 0..shift10 {
            value = value.checked_mul(10)?;
        }
        value.checked_mul(1u128.checked_shl(u32::try_from(shift2).ok()?)?)
    }

    /// `Cmp`: compares two quantities.
    pub fn compare(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let exp10 = self.exp10.min(other.exp10);
        let exp2 = self.exp2.min(other.exp2);
        let ordering = match (self.scaled(exp10, exp2), other.scaled(exp10, exp2)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Too large to align exactly: compare magnitudes approximately.
            _ => self.approx().total_cmp(&other.approx()),
        };
        if self.negative {
            ordering.reverse()
        } else {
            ordering
        }
    }

    fn approx(&self) -> f64 {
        let mut value = 0f64;
        for d in &self.digits {
            value = value * 10.0 + f64::from(*d);
        }
        value * 10f64.powi(self.exp10 as i32) * 2f64.powi(self.exp2 as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_and_compares() {
        assert_eq!(q("10Gi").compare(&q("10737418240")), Ordering::Equal);
        assert_eq!(q("1G").compare(&q("1Gi")), Ordering::Less);
        assert_eq!(q("1.5Gi").compare(&q("1536Mi")), Ordering::Equal);
        assert_eq!(q("500m").compare(&q("0.5")), Ordering::Equal);
        assert_eq!(q("1e3").compare(&q("1k")), Ordering::Equal);
        assert_eq!(q("-1").compare(&q("0")), Ordering::Less);
        assert_eq!(q("100Ei").compare(&q("1")), Ordering::Greater);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "10GB", "1..2", ".", "10Gix", "1e1000", "--1"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }
}
