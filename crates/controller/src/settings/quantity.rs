//! Kubernetes resource quantities, as far as settings need them: recognising one, and
//! turning a size into bytes (upstream `resource.ParseQuantity(...).AsInt64()`).

/// The suffixes a quantity may carry, with their multiplier as `(numerator,
/// denominator)`.
const SUFFIXES: &[(&str, i128, i128)] = &[
    ("Ki", 1 << 10, 1),
    ("Mi", 1 << 20, 1),
    ("Gi", 1 << 30, 1),
    ("Ti", 1 << 40, 1),
    ("Pi", 1 << 50, 1),
    ("Ei", 1 << 60, 1),
    ("m", 1, 1000),
    ("k", 1_000, 1),
    ("M", 1_000_000, 1),
    ("G", 1_000_000_000, 1),
    ("T", 1_000_000_000_000, 1),
    ("P", 1_000_000_000_000_000, 1),
    ("E", 1_000_000_000_000_000_000, 1),
    ("", 1, 1),
];

/// Splits `value` into its decimal number (`digits[.digits]`) and suffix multiplier.
fn split(value: &str) -> Option<(&str, i128, i128)> {
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(end);
    let (_, numerator, denominator) = SUFFIXES.iter().find(|(s, _, _)| *s == suffix)?;
    let mut parts = number.split('.');
    let whole = parts.next()?;
    let fraction = parts.next();
    if whole.is_empty() || parts.next().is_some() || fraction.is_some_and(str::is_empty) {
        return None;
    }
    Some((number, *numerator, *denominator))
}

/// Whether `value` is a quantity in the form the ForkliftController CRD accepts
/// (`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`).
pub fn is_quantity(value: &str) -> bool {
    split(value).is_some()
}

/// The quantity as a whole number of bytes; `None` when it is not a quantity, not whole
/// (`1500m`), or does not fit in an `i64`.
pub fn bytes(value: &str) -> Option<i64> {
    let (number, numerator, denominator) = split(value)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    // value = (whole + fraction / 10^len) * numerator / denominator
    let scale = 10i128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    let top = mantissa.checked_mul(numerator)?;
    let bottom = scale.checked_mul(denominator)?;
    if top % bottom != 0 {
        return None;
    }
    i64::try_from(top / bottom).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_crd_quantities() {
        for good in ["1", "100m", "1.5", "1Gi", "8Gi", "4000m", "0.5Mi", "2E"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in [
            "", "Gi", "1GB", "-1", "1.", ".5", "1.2.3", "1 Gi", "1gi", "١",
        ] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn sizes_in_bytes() {
        assert_eq!(bytes("0"), Some(0));
        assert_eq!(bytes("1024"), Some(1024));
        assert_eq!(bytes("512Mi"), Some(512 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1.5Ki"), Some(1536));
        assert_eq!(bytes("2000m"), Some(2));
        assert_eq!(bytes("1500m"), None, "not a whole number of bytes");
        assert_eq!(bytes("16Ei"), None, "does not fit in i64");
        assert_eq!(bytes("99999999999999999999999999999999999999999"), None);
        assert_eq!(bytes("lots"), None);
    }
}
