//! Byte sizes as Kubernetes quantities, formatted as apimachinery formats
//! `resource.NewQuantity(n, resource.BinarySI)`.

/// The canonical text of `bytes` as a `BinarySI` quantity, as Go's `Quantity.String()`
/// writes it: the largest binary suffix that divides the value exactly (`2Gi`, `48Mi`,
/// `1025`); values strictly between -1024 and 1024 are written in decimal SI instead
/// (`20`, and `1000` as `1k`), as apimachinery does to avoid rounding.
pub fn binary_si(bytes: i64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    if bytes > -1024 && bytes < 1024 {
        let (mut value, mut exponent) = (bytes, 0);
        while value % 1000 == 0 {
            value /= 1000;
            exponent += 1;
        }
        // |bytes| < 1024: at most one factor of 1000.
        let suffix = if exponent == 0 { "" } else { "k" };
        return format!("{value}{suffix}");
    }
    if bytes == i64::MIN {
        // Go negates the value to strip factors, which overflows here: no suffix.
        return bytes.to_string();
    }
    const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let (mut value, mut exponent) = (bytes, 0);
    while value % 1024 == 0 && exponent + 1 < SUFFIXES.len() {
        value /= 1024;
        exponent += 1;
    }
    format!("{value}{}", SUFFIXES[exponent])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value checked with apimachinery v0.33.13: `resource.NewQuantity(n,
    /// resource.BinarySI).String()`.
    #[test]
    fn go_canonical_forms() {
        for (bytes, text) in [
            (0, "0"),
            (1, "1"),
            (20, "20"),
            (1000, "1k"),
            (1023, "1023"),
            (1024, "1Ki"),
            (1025, "1025"),
            (2048, "2Ki"),
            (59049, "59049"),
            (1 << 20, "1Mi"),
            (3 << 20, "3Mi"),
            (48 << 20, "48Mi"),
            (1536 << 20, "1536Mi"),
            (2 << 30, "2Gi"),
            (10 << 30, "10Gi"),
            (1 << 40, "1Ti"),
            (1 << 50, "1Pi"),
            (1 << 60, "1Ei"),
            (i64::MAX, "9223372036854775807"),
            (-1, "-1"),
            (-1000, "-1k"),
            (-1024, "-1Ki"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            assert_eq!(binary_si(bytes), text, "{bytes}");
        }
    }
}
