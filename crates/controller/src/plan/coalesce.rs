//! When a trigger reconciles a Plan: the plan controller's debounce.
//!
//! kube-runtime's own debounce moves a queued reconcile `debounce` past every new
//! trigger, so a lone change always waited the whole period, and a steady stream of
//! triggers (a thousand VMs' DataVolumes, Pods and PVCs moving) put the reconcile off
//! for as long as the stream lasted: minutes at 1 000 VMs. [`Coalescer`] decides
//! instead, per key:
//!
//! - the first trigger after a quiet spell (no trigger and no reconcile for `quiet`)
//!   reconciles at once;
//! - later triggers coalesce into one trailing reconcile, `quiet` after the last of
//!   them, but never later than `max_wait` after the first: a steady stream reconciles
//!   once every `max_wait`, never starves.
//!
//! [`coalesced`] runs it on a stream of triggers; the decisions are pure (time is a
//! parameter) and tested apart.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

/// How a key's triggers stand.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The last trigger or reconcile of the key.
    last: Instant,
    /// A reconcile waiting: when its first trigger came, and when it is due.
    pending: Option<(Instant, Instant)>,
}

/// The per-key decisions of the debounce (see the module documentation).
#[derive(Debug)]
pub struct Coalescer<K> {
    quiet: Duration,
    max_wait: Duration,
    keys: HashMap<K, Entry>,
}

impl<K: Clone + Eq + Hash> Coalescer<K> {
    /// A coalescer reconciling a key at once after `quiet` without triggers, and at
    /// least every `max_wait` (never less than `quiet`) under a steady stream.
    pub fn new(quiet: Duration, max_wait: Duration) -> Self {
        Self {
            quiet,
            max_wait: max_wait.max(quiet),
            keys: HashMap::new(),
        }
    }

    /// A trigger for `key` at `now`: `true` when it reconciles at once; otherwise it
    /// joins the key's pending reconcile (see [`Self::next_due`]).
    pub fn offer(&mut self, key: K, now: Instant) -> bool {
        self.forget_quiet(now);
        let (quiet, max_wait) = (self.quiet, self.max_wait);
        match self.keys.get_mut(&key) {
            None => {
                self.keys.insert(
                    key,
                    Entry {
                        last: now,
                        pending: None,
                    },
                );
                true
            }
            Some(entry) => {
                let first = entry.pending.map_or(now, |(first, _)| first);
                let due = (now + quiet).min(first + max_wait);
                entry.pending = Some((first, due));
                entry.last = now;
                false
            }
        }
    }

    /// When the earliest pending reconcile is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.keys
            .values()
            .filter_map(|entry| entry.pending.map(|(_, due)| due))
            .min()
    }

    /// The keys whose pending reconcile is due at `now`; each counts as reconciled now.
    pub fn take_due(&mut self, now: Instant) -> Vec<K> {
        let mut due = Vec::new();
        for (key, entry) in &mut self.keys {
            if entry.pending.is_some_and(|(_, at)| at <= now) {
                entry.pending = None;
                entry.last = now;
                due.push(key.clone());
            }
        }
        due
    }

    /// How many keys are remembered (pending or not yet quiet).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets the keys that have been quiet for `quiet` with nothing pending.
    fn forget_quiet(&mut self, now: Instant) {
        let quiet = self.quiet;
        self.keys.retain(|_, entry| {
            entry.pending.is_some() || now.saturating_duration_since(entry.last) < quiet
        });
    }
}

/// The state of [`coalesced`] between items.
struct Run<S, K> {
    triggers: Pin<Box<S>>,
    coalescer: Coalescer<K>,
    ready: VecDeque<K>,
}

/// `triggers` through a [`Coalescer`]: each key comes out when the coalescer says it
/// reconciles; the stream ends when `triggers` ends (pending keys are then dropped).
pub fn coalesced<S, K>(
    triggers: S,
    quiet: Duration,
    max_wait: Duration,
) -> impl Stream<Item = K> + Send + 'static
where
    S: Stream<Item = K> + Send + 'static,
    K: Clone + Eq + Hash + Send + 'static,
{
    let run = Run {
        triggers: Box::pin(triggers),
        coalescer: Coalescer::new(quiet, max_wait),
        ready: VecDeque::new(),
    };
    futures::stream::unfold(run, |mut run| async move {
        loop {
            if let Some(key) = run.ready.pop_front() {
                return Some((key, run));
            }
            let due = run.coalescer.next_due();
            let timer = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = timer => {
                    let now = Instant::now();
                    run.ready.extend(run.coalescer.take_due(now));
                }
                trigger = run.triggers.next() => {
                    let key = trigger?;
                    if run.coalescer.offer(key.clone(), Instant::now()) {
                        return Some((key, run));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(1000);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_lone_trigger_reconciles_at_once() {
        let mut c = Coalescer::new(QUIET, MAX);
        let t0 = Instant::now();
        assert!(c.offer("a", t0));
        assert_eq!(c.next_due(), None);
        // Quiet again: the next lone trigger is at once too, and the key is forgotten.
        assert!(c.offer("a", t0 + ms(500)));
        assert!(c.offer("b", t0 + ms(700)));
        assert_eq!(c.len(), 1, "a was quiet for longer than QUIET");
    }

    #[test]
    fn a_burst_coalesces_into_one_trailing_reconcile() {
        let mut c = Coalescer::new(QUIET, MAX);
        let t0 = Instant::now();
        assert!(c.offer("a", t0));
        assert!(!c.offer("a", t0 + ms(10)));
        assert!(!c.offer("a", t0 + ms(50)));
        assert_eq!(c.next_due(), Some(t0 + ms(150)));
        assert!(c.take_due(t0 + ms(149)).is_empty());
        assert_eq!(c.take_due(t0 + ms(150)), vec!["a"]);
        assert_eq!(c.next_due(), None);
        // Right after the trailing reconcile the key is not quiet yet.
        assert!(!c.offer("a", t0 + ms(160)));
        assert_eq!(c.next_due(), Some(t0 + ms(260)));
    }

    #[test]
    fn a_steady_stream_reconciles_every_max_wait() {
        let mut c = Coalescer::new(QUIET, MAX);
        let t0 = Instant::now();
        assert!(c.offer("a", t0));
        let mut reconciles = Vec::new();
        // A trigger every 50 ms for 3 s: never quiet for 100 ms.
        for step in 1..=60u64 {
            let now = t0 + ms(step * 50);
            reconciles.extend(c.take_due(now).into_iter().map(|_| now - t0));
            assert!(!c.offer("a", now));
        }
        assert_eq!(reconciles, vec![ms(1050), ms(2050)]);
        assert_eq!(c.next_due(), Some(t0 + ms(3050)));
    }

    #[test]
    fn keys_are_independent() {
        let mut c = Coalescer::new(QUIET, MAX);
        let t0 = Instant::now();
        assert!(c.offer("a", t0));
        assert!(c.offer("b", t0 + ms(1)));
        assert!(!c.offer("a", t0 + ms(2)));
        assert_eq!(c.take_due(t0 + ms(102)), vec!["a"]);
        assert!(c.take_due(t0 + ms(500)).is_empty());
    }

    #[test]
    fn max_wait_is_never_below_quiet() {
        let mut c = Coalescer::new(ms(100), ms(10));
        let t0 = Instant::now();
        assert!(c.offer("a", t0));
        assert!(!c.offer("a", t0 + ms(1)));
        assert_eq!(c.next_due(), Some(t0 + ms(101)));
    }

    #[tokio::test]
    async fn the_stream_emits_a_lone_trigger_and_a_burst_once() {
        let bound = Duration::from_secs(10);
        let (tx, rx) = futures::channel::mpsc::unbounded::<&'static str>();
        let mut out = std::pin::pin!(coalesced(rx, QUIET, MAX));
        tx.unbounded_send("a").unwrap();
        let first = tokio::time::timeout(bound, out.next()).await.unwrap();
        assert_eq!(first, Some("a"));
        for key in ["a", "a", "a", "b"] {
            tx.unbounded_send(key).unwrap();
        }
        // The three "a"s follow the first within QUIET: one trailing "a" (or a leading
        // and a trailing one, had this thread stalled for QUIET), never three; "b" is
        // quiet and comes out as soon as it is read.
        let (mut a, mut b) = (0, 0);
        while a == 0 || b == 0 {
            match tokio::time::timeout(bound, out.next()).await.unwrap() {
                Some("a") => a += 1,
                Some("b") => b += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!((1..=2).contains(&a), "{a}");
        assert_eq!(b, 1);
        drop(tx);
        assert_eq!(tokio::time::timeout(bound, out.next()).await.unwrap(), None);
    }
}
