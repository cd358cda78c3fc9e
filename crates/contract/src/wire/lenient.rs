//! Field (de)serializers that read a wire value the way the TypeScript uses it.
//!
//! * Integer fields the TypeScript compares or prints as codes (`exitCode`,
//!   `slotIndex`, `httpStatus`) accept any JSON number with an integral value
//!   (`3.0`, `3e0`); a fraction is an error, never silently rounded.
//! * A field read with a `??` default treats `null` like an absent key.
//! * A flag read only for its truthiness (`if (h.readFailed)`) takes any JSON
//!   value with JavaScript's truthiness.
//! * Numbers the TypeScript passes through unchanged (durations) are `f64`
//!   and are written back like `JSON.stringify` writes them (`3`, `1.5`).

use serde::{Deserialize, Deserializer, Serializer, de::Error};

use crate::js_json::{JsValue, serialize_number};

fn integral<E: Error>(value: f64) -> Result<i64, E> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if value.fract() == 0.0 && (-TWO_63..TWO_63).contains(&value) {
        Ok(value as i64)
    } else {
        Err(E::custom(format!("expected an integer, got {value}")))
    }
}

pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    integral(f64::deserialize(d)?)
}

pub(crate) fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = int(d)?;
    i32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
}

pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<f64>::deserialize(d)?.map(integral).transpose()
}

/// `value ?? default`: `null` reads as the type's default.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `if (value)`: JavaScript truthiness of any JSON value.
pub(crate) fn truthy<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(JsValue::deserialize(d)?.is_truthy())
}

pub(crate) use crate::js_json::serialize_number_ref as js_number;

pub(crate) fn opt_js_number<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serialize_number(*v, s),
        None => s.serialize_none(),
    }
}
