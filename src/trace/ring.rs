//! A bounded ring of captured packets: at any packet rate memory stays under its byte and
//! count limits; the oldest packets make room and are counted, never silently lost.

use std::collections::VecDeque;

/// Something with a size in memory.
pub trait Weighed {
    fn bytes(&self) -> usize;
}

#[derive(Debug)]
pub struct Ring<T> {
    items: VecDeque<T>,
    max_items: usize,
    max_bytes: usize,
    bytes: usize,
    /// Items pushed out to make room since the ring was made.
    pub evicted: u64,
}

impl<T: Weighed> Ring<T> {
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            max_items: max_items.max(1),
            max_bytes,
            bytes: 0,
            evicted: 0,
        }
    }

    pub fn push(&mut self, item: T) {
        self.bytes += item.bytes();
        self.items.push_back(item);
        while self.items.len() > self.max_items
            || (self.bytes > self.max_bytes && self.items.len() > 1)
        {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= old.bytes();
                self.evicted += 1;
            }
        }
    }

    /// Takes every item out, oldest first.
    pub fn drain(&mut self) -> Vec<T> {
        self.bytes = 0;
        self.items.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blob(usize);
    impl Weighed for Blob {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn stays_within_its_limits_and_counts_what_it_dropped() {
        let mut r = Ring::new(100, 10_000);
        for _ in 0..100_000 {
            r.push(Blob(300));
            assert!(r.len() <= 100 && r.bytes() <= 10_000);
        }
        assert_eq!(r.len(), 33);
        assert_eq!(r.evicted, 100_000 - 33);
        // One item larger than the byte limit is still kept (the latest packet is shown).
        r.push(Blob(50_000));
        assert_eq!(r.len(), 1);
        assert_eq!(r.drain().len(), 1);
        assert!(r.is_empty() && r.bytes() == 0);
    }
}
