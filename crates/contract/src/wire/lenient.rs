//! Number deserializers that accept what JavaScript writes for a "number":
//! integers, or floats with an integral value (`3.0`). Fractions and values
//! outside the target type are errors, never silently rounded.

use serde::{Deserialize, Deserializer, de::Error};

fn from_json_number<E: Error>(n: &serde_json::Number) -> Result<i64, E> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => Ok(f as i64),
        _ => Err(E::custom(format!("expected an integer, got {n}"))),
    }
}

pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    from_json_number(&n)
}

pub(crate) fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = int(d)?;
    i32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
}

pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => from_json_number(&n).map(Some),
    }
}

pub(crate) fn opt_int32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    match opt_int(d)? {
        None => Ok(None),
        Some(v) => i32::try_from(v)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{v} is out of range"))),
    }
}
