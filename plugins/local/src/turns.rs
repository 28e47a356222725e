//! Fair turns on one loaded model: concurrent generations take forward passes in the order they
//! asked (a ticket lock), so several requests progress token by token side by side instead of
//! one waiting for another to finish, and the weights are loaded once.

use std::sync::{Condvar, Mutex, PoisonError};

/// A first-come, first-served lock (std's `Mutex` promises no order).
#[derive(Debug, Default)]
pub(crate) struct Turns {
    /// (next ticket to hand out, ticket being served)
    state: Mutex<(u64, u64)>,
    cv: Condvar,
}

/// Holding a turn; dropping it lets the next ticket in.
#[derive(Debug)]
pub(crate) struct Turn<'a>(&'a Turns);

impl Turns {
    /// Waits (blocking) for this caller's turn.
    pub(crate) fn take(&self) -> Turn<'_> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = s.0;
        s.0 += 1;
        while s.1 != ticket {
            s = self.cv.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.1 += 1;
        drop(s);
        self.0.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn turns_are_served_in_the_order_they_were_asked_for() {
        let turns = Arc::new(Turns::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let first = turns.take();
        let mut handles = Vec::new();
        for id in 0..5 {
            let (t, l) = (turns.clone(), log.clone());
            handles.push(std::thread::spawn(move || {
                let _turn = t.take();
                l.lock().unwrap().push(id);
            }));
            // Wait until this thread holds its ticket before starting the next one.
            while turns.state.lock().unwrap().0 < id + 2 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
