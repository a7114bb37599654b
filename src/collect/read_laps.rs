//! Where a live refresh's time goes, phase by phase, for the collector's timing log
//! (NETLENS_DEBUG_TIMING): `Live::refresh` marks its phases on the collector's thread and the
//! collector takes them after the read. Kept per thread so that `Live` carries nothing for
//! it; a mark costs a clock read, nothing is written unless the log is on.

use std::cell::RefCell;
use std::time::Instant;

thread_local! {
    static LAPS: RefCell<(Option<Instant>, String)> = const { RefCell::new((None, String::new())) };
}

/// Starts timing a read's phases (forgets what was not taken).
pub fn start() {
    LAPS.with(|l| {
        let mut l = l.borrow_mut();
        l.0 = Some(Instant::now());
        l.1.clear();
    });
}

/// Ends the phase `name` (nothing if no read is being timed).
pub fn lap(name: &str) {
    LAPS.with(|l| {
        let mut l = l.borrow_mut();
        if let Some(at) = l.0 {
            let ms = at.elapsed().as_secs_f64() * 1000.0;
            l.1.push_str(&format!(" {name}={ms:.2}"));
            l.0 = Some(Instant::now());
        }
    });
}

/// The phases marked since [`start`], as ` name=ms` pairs, and stops timing.
pub fn take() -> String {
    LAPS.with(|l| {
        let mut l = l.borrow_mut();
        l.0 = None;
        std::mem::take(&mut l.1)
    })
}
