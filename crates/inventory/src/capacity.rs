//! OVF allocation units: upstream's `getResourceCapacity`
//! (`pkg/controller/plan/adapter/ovfbase/builder.go`), shared by the inventory (disk
//! concerns) and the OVA adapter (DataVolume sizes, guest memory).
//!
//! An OVF quantity comes as a number plus a unit expression in the DMTF "programmatic
//! unit" style: `byte * 2^20`, `byte*3*2^10`, `byte * 1024`, an empty string (plain
//! bytes), or VirtualBox's `MegaBytes`. The rules, exactly as upstream:
//!
//! - `megabytes`, compared case-insensitively, multiplies by 2^20;
//! - otherwise the expression is split on `*`; the first term, trimmed, must be empty or
//!   `byte`; every later term, trimmed, is either an integer factor or `base^power`.
//!
//! Where Ferry differs, on purpose: the arithmetic is checked (upstream silently wraps an
//! `int64` on overflow, and turns `2^-1` into a factor of 0), so an overflow, a negative
//! factor, base or power is an error instead of a wrong size.

use std::fmt;

/// Why a `(capacity, units)` pair does not give a number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allocation units '{units}' are invalid: {reason}")]
pub struct CapacityError {
    /// The unit expression as found in the descriptor.
    pub units: String,
    /// What is wrong with it.
    pub reason: CapacityErrorReason,
}

/// The specific problem with a unit expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacityErrorReason {
    /// The first term is neither empty nor `byte` (e.g. `kilobytes`).
    UnsupportedBase(String),
    /// A later term is neither an integer nor `base^power` (e.g. `2^`, `+ 2`).
    InvalidTerm(String),
    /// A factor, base or power is negative.
    Negative(String),
    /// The result does not fit in a signed 64-bit number of bytes.
    Overflow,
}

impl fmt::Display for CapacityErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedBase(term) => {
                write!(f, "'{term}' is not supported, only 'byte' is")
            }
            Self::InvalidTerm(term) => {
                write!(f, "'{term}' is neither an integer factor nor 'base^power'")
            }
            Self::Negative(term) => write!(f, "'{term}' is negative"),
            Self::Overflow => write!(f, "the size does not fit in 64 bits"),
        }
    }
}

/// Upstream `getResourceCapacity`: `capacity` expressed in `units`, in bytes.
///
/// The capacity itself may be zero or negative (the caller decides whether that is
/// acceptable); only the unit expression and the arithmetic are checked here.
pub fn resource_capacity(capacity: i64, units: &str) -> Result<i64, CapacityError> {
    let error = |reason| CapacityError {
        units: units.to_owned(),
        reason,
    };
    if units.eq_ignore_ascii_case("megabytes") {
        return capacity
            .checked_mul(1 << 20)
            .ok_or_else(|| error(CapacityErrorReason::Overflow));
    }
    let mut bytes = capacity;
    for (index, raw) in units.split('*').enumerate() {
        let term = raw.trim();
        if index == 0 {
            if !term.is_empty() && term != "byte" {
                return Err(error(CapacityErrorReason::UnsupportedBase(term.to_owned())));
            }
            continue;
        }
        let factor = term_factor(term).map_err(error)?;
        bytes = bytes
            .checked_mul(factor)
            .ok_or_else(|| error(CapacityErrorReason::Overflow))?;
    }
    Ok(bytes)
}

/// One multiplicative term after the first: an integer, or `base^power`.
fn term_factor(term: &str) -> Result<i64, CapacityErrorReason> {
    if let Ok(number) = term.parse::<i64>() {
        if number < 0 {
            return Err(CapacityErrorReason::Negative(term.to_owned()));
        }
        return Ok(number);
    }
    let mut parts = term.split('^');
    let (Some(base), Some(power), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CapacityErrorReason::InvalidTerm(term.to_owned()));
    };
    let (Ok(base), Ok(power)) = (base.parse::<i64>(), power.parse::<i64>()) else {
        return Err(CapacityErrorReason::InvalidTerm(term.to_owned()));
    };
    if base < 0 || power < 0 {
        return Err(CapacityErrorReason::Negative(term.to_owned()));
    }
    let power = u32::try_from(power).map_err(|_| CapacityErrorReason::Overflow)?;
    base.checked_pow(power).ok_or(CapacityErrorReason::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream's table (`capacity_test.go`), plus the `megabytes` rule.
    #[test]
    fn upstream_capacity_table() {
        let valid: &[(i64, &str, i64)] = &[
            (10, "", 10),
            (20, "byte", 20),
            (2, "byte * 2^10", 2048),
            (1, "byte * 2^20", 1_048_576),
            (2, "byte * 1024", 2048),
            (1, "byte*2^20", 1_048_576),
            (1, "byte * 3^10", 59049),
            (1, "byte * 2 * 2^10", 2048),
            (1, "byte*3*2^10", 3072),
            (3, "megabytes", 3 << 20),
            (3, "MegaBytes", 3 << 20),
        ];
        for &(capacity, units, expected) in valid {
            assert_eq!(
                resource_capacity(capacity, units),
                Ok(expected),
                "({capacity}, {units:?})"
            );
        }
        for &(capacity, units) in &[(100, "byte*2^"), (10, "kilobytes"), (1, "byte + 2^20")] {
            assert!(
                resource_capacity(capacity, units).is_err(),
                "({capacity}, {units:?}) must be an error"
            );
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let error = resource_capacity(10, "kilobytes").unwrap_err();
        assert_eq!(
            error.reason,
            CapacityErrorReason::UnsupportedBase("kilobytes".into())
        );
        assert_eq!(
            error.to_string(),
            "allocation units 'kilobytes' are invalid: 'kilobytes' is not supported, only 'byte' is"
        );
        assert_eq!(
            resource_capacity(1, "byte*2^").unwrap_err().reason,
            CapacityErrorReason::InvalidTerm("2^".into())
        );
        assert_eq!(
            resource_capacity(1, "byte * ").unwrap_err().reason,
            CapacityErrorReason::InvalidTerm(String::new())
        );
    }

    #[test]
    fn overflow_and_negative_terms_are_errors() {
        assert_eq!(
            resource_capacity(1 << 40, "byte * 2^30")
                .unwrap_err()
                .reason,
            CapacityErrorReason::Overflow
        );
        assert_eq!(
            resource_capacity(1, "byte * 2^64").unwrap_err().reason,
            CapacityErrorReason::Overflow
        );
        assert_eq!(
            resource_capacity(1, "byte * 2^99999999999")
                .unwrap_err()
                .reason,
            CapacityErrorReason::Overflow
        );
        assert_eq!(
            resource_capacity(i64::MAX, "megabytes").unwrap_err().reason,
            CapacityErrorReason::Overflow
        );
        assert_eq!(
            resource_capacity(1, "byte * -2").unwrap_err().reason,
            CapacityErrorReason::Negative("-2".into())
        );
        assert_eq!(
            resource_capacity(1, "byte * 2^-1").unwrap_err().reason,
            CapacityErrorReason::Negative("2^-1".into())
        );
    }

    #[test]
    fn the_capacity_itself_is_not_judged() {
        assert_eq!(resource_capacity(0, "byte"), Ok(0));
        assert_eq!(resource_capacity(-5, "byte * 2^10"), Ok(-5120));
    }
}
