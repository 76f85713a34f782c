//! The hot loop does not allocate per sequence: a counting allocator sees no allocation while
//! warmed-up scratch memory scores thousands of sequences, in every mode, and a whole batch
//! allocates the same whatever its size.
#![allow(unsafe_code)] // a counting global allocator is the only unsafe code, in this test only

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use trading_planner::bench::{fill_random_sequences, synthetic_portfolio};
use trading_planner::domain::SequenceBatch;
use trading_planner::evaluator::engine::Scratch;
use trading_planner::evaluator::modes::Mode;
use trading_planner::evaluator::run::{BatchOffsets, Beam, score_batch};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn batch(n: usize) -> (trading_planner::evaluator::engine::Prepared, SequenceBatch) {
    let prepared = synthetic_portfolio(50, 3);
    let mut batch = SequenceBatch::with_capacity(n, n * 5);
    let universe = prepared.symbols.len();
    fill_random_sequences(
        &mut batch,
        n,
        5,
        50,
        universe,
        &mut ChaCha8Rng::seed_from_u64(9),
    );
    (prepared, batch)
}

#[test]
fn scoring_a_sequence_does_not_allocate() {
    let (prepared, batch) = batch(5_000);
    let modes = [
        Mode::Base,
        Mode::Stochastic {
            shifts: vec![-0.1, -0.05, 0.0, 0.05, 0.1],
        },
        Mode::MonteCarlo { paths: 20, seed: 1 },
    ];
    for mode in modes {
        let mut scratch = Scratch::default();
        let score_all = |scratch: &mut Scratch| {
            (0..batch.len())
                .map(|i| {
                    prepared
                        .evaluate(&mode, batch.sequence(i), i as u64, scratch, None)
                        .score
                })
                .sum::<f64>()
        };
        // Warm-up: scratch vectors grow to the largest sequence once.
        score_all(&mut scratch);
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let sum = score_all(&mut scratch);
        let allocated = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert!(sum > 0.0);
        assert_eq!(
            allocated,
            0,
            "{mode:?}: {allocated} allocations for {} sequences",
            batch.len()
        );
    }
}

#[test]
fn a_batch_allocates_the_same_whatever_its_size() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut counts = Vec::new();
    for n in [2_000, 200_000] {
        let (prepared, batch) = batch(n);
        let mut beam = Beam::new(10, false);
        let mut score = || {
            pool.install(|| {
                score_batch(
                    &prepared,
                    &Mode::Base,
                    &batch,
                    None,
                    BatchOffsets::default(),
                    &mut beam,
                )
            })
        };
        // The first pass grows the pool's thread-local state; the second is the one measured.
        score();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        score();
        counts.push(ALLOCATIONS.load(Ordering::SeqCst) - before);
    }
    // Per rayon task, not per sequence: 100 times the sequences must not mean more allocations
    // than tasks can explain (at most one scratch and one beam per task of >= 64 sequences).
    assert!(counts[1] <= 200_000 / 64 * 4, "{counts:?}");
    assert!(counts[1] < 200_000 / 10, "{counts:?}");
}
