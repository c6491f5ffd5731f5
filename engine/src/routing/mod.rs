//! The routing model: URS targets (`Billing@Stat.GA`, `?:English>=5@Stat.GA`), skill
//! expressions, and the `_target` list of up to 15 targets that escalates over time.

pub mod plan;
pub mod router;
pub mod skills;
pub mod target;
