//! JSON `number` fields as `f64` that serialize whole values without a fraction (`10`, not
//! `10.0`), so numbers round-trip as JS writes them.

use serde::{Serialize, Serializer};

#[allow(clippy::ref_option)]
pub(crate) fn opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => one(x, s),
        None => s.serialize_none(),
    }
}

#[allow(clippy::cast_possible_truncation, clippy::float_cmp, clippy::trivially_copy_pass_by_ref)]
pub(crate) fn one<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 { (*x as i64).serialize(s) } else { x.serialize(s) }
}
