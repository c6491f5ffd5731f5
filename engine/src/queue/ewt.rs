//! Estimated wait time: three estimators a queue can be configured with, all pure functions of
//! what the queue has recorded (time enters only through the samples the queue is given).
//!
//! See `reference/routing-and-ewt.md` §2 and §7: Stat Server's `AHT × calls / agents`, URS's
//! default `aqt=urs` (average quitting time of the last 32 calls distributed from the VQ), and
//! Asterisk's exponential moving average of hold time.

/// An estimate, with "no estimate yet" spelled out rather than hidden behind 0 or -1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ewt {
    /// Not enough data: nothing distributed (or handled) yet, or no ready agents for
    /// [`EwtMethod::HandleTime`].
    Unknown,
    /// Expected wait in seconds.
    Seconds(f64),
}

impl Ewt {
    /// The estimate in seconds, if there is one.
    pub fn seconds(self) -> Option<f64> {
        match self {
            Ewt::Unknown => None,
            Ewt::Seconds(s) => Some(s),
        }
    }
}

/// Which estimator a queue uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EwtMethod {
    /// `AHT × position ÷ ready agents` (Stat Server's `ExpectedWaitTime`, URS `aqt=urs2`). AHT is
    /// [`EwtConfig::handle_time_secs`] when set, else the mean of the handle times reported with
    /// `record_handle_time`. No AHT yet, or zero ready agents: [`Ewt::Unknown`] (Stat Server
    /// would divide by 0.0001 and Avaya reports infinity; neither is an estimate a caller can
    /// use). Configure `handle_time_secs = 90` to get Stat Server's default.
    HandleTime,
    /// URS's default (`aqt=urs`): the average time-to-leave of the last 32 items distributed
    /// from the queue, adjusted to the item's position. Each distributed item contributes
    /// `time_to_leave ÷ position_at_enqueue` (seconds per place in line); the estimate is the
    /// mean of those 32 samples × position. URS's exact adjustment is not published; this one
    /// gives `ewt ≈ aqt` for a new item at the back of a queue of steady length, as in the
    /// sample `lvq` response (`pos 21, aqt 300, ewt 300`).
    #[default]
    RoutingDefault,
    /// Exponential moving average of the same seconds-per-place samples, × position:
    /// `ema ← ema + α·(sample − ema)`, the first sample taken as is. α defaults to 1/4, the
    /// filter coefficient of Asterisk's `recalc_holdtime`.
    MovingAverage,
}

/// Per-queue estimator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwtConfig {
    pub method: EwtMethod,
    /// Fixed average handle time for [`EwtMethod::HandleTime`]; `None` learns it.
    pub handle_time_secs: Option<f64>,
    /// Smoothing factor for [`EwtMethod::MovingAverage`], in `(0, 1]`.
    pub alpha: f64,
}

impl Default for EwtConfig {
    fn default() -> Self {
        Self {
            method: EwtMethod::RoutingDefault,
            handle_time_secs: None,
            alpha: DEFAULT_ALPHA,
        }
    }
}

/// Asterisk's `recalc_holdtime` coefficient.
pub const DEFAULT_ALPHA: f64 = 0.25;

/// URS averages over the last 32 calls distributed from the queue.
pub const WINDOW: usize = 32;

impl EwtConfig {
    /// Checks the numbers: α in `(0, 1]`, a handle time finite and not negative.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(format!("alpha must be in (0, 1], got {}", self.alpha));
        }
        if let Some(aht) = self.handle_time_secs {
            if !(aht.is_finite() && aht >= 0.0) {
                return Err(format!(
                    "handle time must be a finite number of seconds >= 0, got {aht}"
                ));
            }
        }
        Ok(())
    }
}

/// What a queue has learned from items leaving it and from handled interactions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Learned {
    /// Ring of the last [`WINDOW`] distributions: (time-to-leave s, seconds per place).
    ring: Vec<(f64, f64)>,
    next: usize,
    ring_ttl_sum: f64,
    ring_place_sum: f64,
    ema_place: Option<f64>,
    handled_sum: f64,
    handled_count: u64,
}

impl Learned {
    /// One item distributed after `ttl` seconds in the queue, having entered at `entry_pos`.
    pub(crate) fn record_distribution(&mut self, ttl: f64, entry_pos: usize, alpha: f64) {
        let per_place = ttl / entry_pos.max(1) as f64;
        if self.ring.len() < WINDOW {
            self.ring.push((ttl, per_place));
        } else if let Some(slot) = self.ring.get_mut(self.next) {
            self.ring_ttl_sum -= slot.0;
            self.ring_place_sum -= slot.1;
            *slot = (ttl, per_place);
        }
        self.next = (self.next + 1) % WINDOW;
        self.ring_ttl_sum += ttl;
        self.ring_place_sum += per_place;
        // Recompute the sums from the ring once per lap so float drift cannot accumulate.
        if self.next == 0 {
            self.ring_ttl_sum = self.ring.iter().map(|s| s.0).sum();
            self.ring_place_sum = self.ring.iter().map(|s| s.1).sum();
        }
        self.ema_place = Some(match self.ema_place {
            None => per_place,
            Some(e) => e + alpha * (per_place - e),
        });
    }

    pub(crate) fn record_handle_time(&mut self, secs: f64) {
        if secs.is_finite() && secs >= 0.0 {
            self.handled_sum += secs;
            self.handled_count += 1;
        }
    }

    /// URS `aqt`: mean time-to-leave over the window.
    pub(crate) fn average_time_to_leave(&self) -> Option<f64> {
        (!self.ring.is_empty()).then(|| self.ring_ttl_sum / self.ring.len() as f64)
    }

    pub(crate) fn average_handle_time(&self) -> Option<f64> {
        (self.handled_count > 0).then(|| self.handled_sum / self.handled_count as f64)
    }

    pub(crate) fn estimate(&self, cfg: &EwtConfig, position: usize, ready_agents: usize) -> Ewt {
        let pos = position as f64;
        match cfg.method {
            EwtMethod::HandleTime => {
                match (
                    cfg.handle_time_secs.or(self.average_handle_time()),
                    ready_agents,
                ) {
                    (None, _) | (_, 0) => Ewt::Unknown,
                    (Some(aht), agents) => Ewt::Seconds(aht * pos / agents as f64),
                }
            }
            EwtMethod::RoutingDefault => {
                if self.ring.is_empty() {
                    Ewt::Unknown
                } else {
                    Ewt::Seconds(self.ring_place_sum / self.ring.len() as f64 * pos)
                }
            }
            EwtMethod::MovingAverage => match self.ema_place {
                None => Ewt::Unknown,
                Some(e) => Ewt::Seconds(e * pos),
            },
        }
    }
}
