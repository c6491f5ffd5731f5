//! Virtual queues: service order, positions, `lvq` statistics and the EWT estimators, all with
//! time passed in.

#![allow(clippy::unwrap_used)]

use engine::queue::{
    Ewt, EwtConfig, EwtMethod, ItemId, QueueError, QueueSet, VirtualQueue, DEFAULT_PRIORITY,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const S: i64 = 1000; // one second in Millis

fn queue(method: EwtMethod) -> VirtualQueue {
    VirtualQueue::new(EwtConfig {
        method,
        ..EwtConfig::default()
    })
    .unwrap()
}

fn ids(q: &VirtualQueue) -> Vec<u64> {
    q.iter().map(|i| i.id.0).collect()
}

fn secs(e: Ewt) -> f64 {
    e.seconds().unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn higher_priority_first_then_older_then_fifo() {
    let mut q = queue(EwtMethod::RoutingDefault);
    q.enqueue(ItemId(1), 0, 10 * S).unwrap();
    q.enqueue(ItemId(2), 5, 20 * S).unwrap();
    q.enqueue(ItemId(3), 0, 5 * S).unwrap(); // older than 1 at the same priority
    q.enqueue(ItemId(4), 5, 20 * S).unwrap(); // same priority and time as 2: after it
    q.enqueue(ItemId(5), -1, 0).unwrap();
    assert_eq!(ids(&q), [2, 4, 3, 1, 5]);
    assert_eq!(q.head().unwrap().id, ItemId(2));
    assert_eq!(q.position(ItemId(1)), Some(4));
    assert_eq!(q.pop_front(30 * S).unwrap().id, ItemId(2));
    assert_eq!(q.pop_front(30 * S).unwrap().id, ItemId(4));
    assert_eq!(q.head().unwrap().id, ItemId(3));
}

#[test]
fn enqueue_returns_position_and_late_entry_with_old_time_goes_ahead() {
    let mut q = queue(EwtMethod::RoutingDefault);
    assert_eq!(q.enqueue(ItemId(1), 0, 100 * S), Ok(1));
    assert_eq!(q.enqueue(ItemId(2), 0, 200 * S), Ok(2));
    // A waiting call converted to a callback keeps its original entry time.
    assert_eq!(q.enqueue(ItemId(3), 0, 50 * S), Ok(1));
    assert_eq!(ids(&q), [3, 1, 2]);
}

#[test]
fn positions_follow_removals_and_priority_changes() {
    let mut q = queue(EwtMethod::RoutingDefault);
    for i in 1..=5 {
        q.enqueue(ItemId(i), 0, i as i64 * S).unwrap();
    }
    assert_eq!(q.remove(ItemId(2)).unwrap().id, ItemId(2));
    assert_eq!(q.position(ItemId(5)), Some(4));
    assert_eq!(q.position(ItemId(2)), None);
    // Raising 5 puts it first; lowering 1 puts it last; age is kept.
    assert_eq!(q.change_priority(ItemId(5), 3), Ok(1));
    assert_eq!(q.change_priority(ItemId(1), -3), Ok(4));
    assert_eq!(ids(&q), [5, 3, 4, 1]);
    assert_eq!(q.get(ItemId(1)).unwrap().enqueued_at, S);
    // Back to priority 0: its age puts it ahead of 3 and 4 again.
    assert_eq!(q.change_priority(ItemId(1), 0), Ok(2));
    assert_eq!(ids(&q), [5, 1, 3, 4]);
}

#[test]
fn reserved_items_keep_their_place_but_leave_the_waiting_count() {
    let mut q = queue(EwtMethod::RoutingDefault);
    for i in 1..=3 {
        q.enqueue(ItemId(i), 0, i as i64 * S).unwrap();
    }
    assert_eq!(q.reserve_next().unwrap().id, ItemId(1));
    assert_eq!(q.next_waiting().unwrap().id, ItemId(2));
    assert_eq!(q.head().unwrap().id, ItemId(1));
    assert_eq!(q.position(ItemId(3)), Some(3));
    assert_eq!(q.waiting_position(ItemId(3)), Some(2));
    assert_eq!(q.waiting_position(ItemId(1)), None);
    assert_eq!(q.waiting_len(), 2);
    // The agent rejected: it goes back to waiting, first in line again.
    assert!(!q.release(ItemId(1)).unwrap().reserved);
    assert_eq!(q.waiting_position(ItemId(1)), Some(1));
    assert_eq!(q.reserve_next().unwrap().id, ItemId(1));
    assert!(q.distribute(ItemId(1), 10 * S).unwrap().reserved);
    assert_eq!(q.len(), 2);
}

#[test]
fn errors_name_the_item() {
    let mut q = queue(EwtMethod::RoutingDefault);
    q.enqueue(ItemId(7), 0, 0).unwrap();
    assert_eq!(
        q.enqueue(ItemId(7), 1, 0),
        Err(QueueError::DuplicateItem(ItemId(7)))
    );
    assert_eq!(q.remove(ItemId(8)), Err(QueueError::UnknownItem(ItemId(8))));
    assert_eq!(
        q.change_priority(ItemId(8), 1),
        Err(QueueError::UnknownItem(ItemId(8)))
    );
    assert_eq!(
        q.reserve(ItemId(8)),
        Err(QueueError::UnknownItem(ItemId(8)))
    );
    let bad = EwtConfig {
        alpha: 0.0,
        ..EwtConfig::default()
    };
    assert_eq!(
        VirtualQueue::new(bad).unwrap_err(),
        QueueError::InvalidConfig("alpha must be in (0, 1], got 0".into())
    );
}

#[test]
fn every_estimator_is_unknown_before_any_data() {
    for method in [
        EwtMethod::HandleTime,
        EwtMethod::RoutingDefault,
        EwtMethod::MovingAverage,
    ] {
        let mut q = queue(method);
        q.enqueue(ItemId(1), 0, 0).unwrap();
        assert_eq!(q.ewt(1, 10), Ewt::Unknown, "{method:?}");
        // Abandoned items teach nothing: URS averages calls *distributed*.
        q.remove(ItemId(1)).unwrap();
        assert_eq!(q.ewt(1, 10), Ewt::Unknown, "{method:?}");
        assert_eq!(q.stats(60 * S, 10).aqt, None);
    }
}

#[test]
fn handle_time_estimator_with_fixed_and_learned_aht() {
    let q = VirtualQueue::new(EwtConfig {
        method: EwtMethod::HandleTime,
        handle_time_secs: Some(120.0),
        ..EwtConfig::default()
    })
    .unwrap();
    // 120 s × position 3 ÷ 2 ready agents = 180 s
    assert!(close(secs(q.ewt(3, 2)), 180.0));
    // No ready agents: no estimate, rather than Stat Server's divide-by-0.0001.
    assert_eq!(q.ewt(3, 0), Ewt::Unknown);

    let mut q = queue(EwtMethod::HandleTime);
    assert_eq!(q.ewt(4, 5), Ewt::Unknown);
    for t in [60.0, 90.0, 150.0, f64::NAN, -5.0] {
        q.record_handle_time(t); // NaN and negative are ignored
    }
    // AHT = (60 + 90 + 150) / 3 = 100 s; 100 × 4 ÷ 5 = 80 s
    assert_eq!(q.average_handle_time(), Some(100.0));
    assert!(close(secs(q.ewt(4, 5)), 80.0));
}

/// A at t=0 (enters at position 1), B at t=0 (position 2), C at t=10 s (position 3);
/// distributed at 30 s, 50 s and 70 s.
fn three_distributed(q: &mut VirtualQueue) {
    q.enqueue(ItemId(1), 0, 0).unwrap();
    q.enqueue(ItemId(2), 0, 0).unwrap();
    q.enqueue(ItemId(3), 0, 10 * S).unwrap();
    q.pop_front(30 * S).unwrap();
    q.pop_front(50 * S).unwrap();
    q.pop_front(70 * S).unwrap();
}

#[test]
fn routing_default_estimator_averages_seconds_per_place() {
    let mut q = queue(EwtMethod::RoutingDefault);
    three_distributed(&mut q);
    // time-to-leave: A 30 s, B 50 s, C 60 s → aqt = 140 / 3
    // seconds per place: 30/1 = 30, 50/2 = 25, 60/3 = 20 → mean 25
    // ewt at position 4 = 25 × 4 = 100 s
    let st = q.stats(70 * S, 0);
    assert!(close(st.aqt.unwrap(), 140.0 / 3.0));
    assert!(close(secs(q.ewt(4, 0)), 100.0));
    // stats quote the position a new item would take: the queue is empty, so 1 → 25 s
    assert_eq!(st.pos, 1);
    assert!(close(secs(st.ewt), 25.0));
}

#[test]
fn routing_default_estimator_keeps_only_the_last_32() {
    let mut q = queue(EwtMethod::RoutingDefault);
    // 40 items, each alone in the queue (position 1), the k-th leaving after k seconds.
    let mut t = 0;
    for k in 1..=40 {
        q.enqueue(ItemId(k), 0, t).unwrap();
        t += k as i64 * S;
        q.pop_front(t).unwrap();
    }
    // The window holds k = 9..=40: mean (9 + 40) / 2 = 24.5 s; position 2 → 49 s
    assert!(close(q.stats(t, 0).aqt.unwrap(), 24.5));
    assert!(close(secs(q.ewt(2, 0)), 49.0));
}

#[test]
fn moving_average_estimator_with_configured_and_default_alpha() {
    let mut q = VirtualQueue::new(EwtConfig {
        method: EwtMethod::MovingAverage,
        alpha: 0.5,
        ..EwtConfig::default()
    })
    .unwrap();
    three_distributed(&mut q);
    // samples 30, 25, 20 (seconds per place); α = 0.5:
    // 30 → 30 + 0.5·(25 − 30) = 27.5 → 27.5 + 0.5·(20 − 27.5) = 23.75; position 2 → 47.5 s
    assert!(close(secs(q.ewt(2, 0)), 47.5));

    let mut q = queue(EwtMethod::MovingAverage);
    three_distributed(&mut q);
    // α = 0.25: 30 → 30 − 1.25 = 28.75 → 28.75 + 0.25·(20 − 28.75) = 26.5625
    assert!(close(secs(q.ewt(1, 0)), 26.5625));
}

#[test]
fn item_ewt_uses_the_items_position() {
    let mut q = queue(EwtMethod::RoutingDefault);
    three_distributed(&mut q); // 25 s per place
    for i in 10..13 {
        q.enqueue(ItemId(i), 0, 100 * S).unwrap();
    }
    assert_eq!(q.item_ewt(ItemId(12), 0), Some(Ewt::Seconds(75.0)));
    assert_eq!(q.item_ewt(ItemId(99), 0), None);
}

#[test]
fn stats_fields() {
    let mut q = queue(EwtMethod::HandleTime);
    q.set_config(EwtConfig {
        method: EwtMethod::HandleTime,
        handle_time_secs: Some(60.0),
        ..EwtConfig::default()
    })
    .unwrap();
    q.enqueue(ItemId(1), 5, 0).unwrap();
    q.enqueue(ItemId(2), DEFAULT_PRIORITY, S).unwrap();
    q.enqueue(ItemId(3), -1, 0).unwrap();
    q.reserve_next().unwrap(); // item 1
    let st = q.stats(5 * S, 2);
    assert_eq!((st.calls, st.wcalls), (3, 2));
    // A new priority-0 item at 5 s goes after 1 and 2, before 3: pos 3; among waiting, wpos 2.
    assert_eq!((st.pos, st.wpos), (3, 2));
    // 60 s × 3 ÷ 2 = 90 s
    assert_eq!(st.ewt, Ewt::Seconds(90.0));
    assert_eq!(st.time, 5);
    // The next item to serve is 2, queued at 1 s.
    assert!(close(st.head_wait, 4.0));
    q.remove(ItemId(3)).unwrap();
    q.distribute(ItemId(1), 6 * S).unwrap();
    let st = q.stats(6 * S, 2);
    assert_eq!((st.entered, st.distributed, st.abandoned), (3, 1, 1));
    assert_eq!(st.aqt, Some(6.0));
    // One of the two that left reached an agent.
    assert_eq!(st.hit(), Some(50.0));
    let fresh = VirtualQueue::new(EwtConfig::default()).unwrap().stats(0, 1);
    assert_eq!(fresh.hit(), None, "none left yet");
}

#[test]
fn queue_set_finds_items_without_their_queue() {
    let mut set = QueueSet::new();
    let sales = set.add_queue("sales", EwtConfig::default()).unwrap();
    let support = set.add_queue("support", EwtConfig::default()).unwrap();
    assert_eq!(
        set.add_queue("sales", EwtConfig::default()),
        Err(QueueError::DuplicateQueue("sales".into()))
    );
    assert_eq!(
        set.queue_id("billing"),
        Err(QueueError::UnknownQueue("billing".into()))
    );
    set.enqueue(sales, ItemId(1), 0, 0).unwrap();
    set.enqueue(support, ItemId(2), 0, 0).unwrap();
    set.enqueue(support, ItemId(3), 1, S).unwrap();
    assert_eq!(
        set.enqueue(sales, ItemId(2), 0, 0),
        Err(QueueError::DuplicateItem(ItemId(2)))
    );
    assert_eq!(set.position(ItemId(2)), Some((support, 2)));
    assert_eq!(set.position(ItemId(1)), Some((sales, 1)));
    assert_eq!(
        set.pop_front(support, 10 * S).unwrap().unwrap().id,
        ItemId(3)
    );
    assert_eq!(set.position(ItemId(2)), Some((support, 1)));
    assert_eq!(set.position(ItemId(3)), None);
    set.remove(ItemId(1)).unwrap();
    assert_eq!(set.items(), 1);
    assert_eq!(set.queue_id("support"), Ok(support));
    assert_eq!(set.stats(support, 10 * S, 1).unwrap().aqt, Some(9.0));
}

/// The naive model: every item in a Vec, sorted on demand.
#[derive(Clone, Copy)]
struct Naive {
    id: u64,
    priority: i32,
    at: i64,
    seq: u64,
    reserved: bool,
}

fn sorted(model: &[Naive]) -> Vec<Naive> {
    let mut v = model.to_vec();
    v.sort_by_key(|n| (std::cmp::Reverse(n.priority), n.at, n.seq));
    v
}

#[test]
fn positions_match_a_naive_sorted_vec_over_5000_random_ops() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut q = queue(EwtMethod::RoutingDefault);
    let mut model: Vec<Naive> = Vec::new();
    let mut next_id = 0u64;
    for step in 0..5000 {
        let pick = |rng: &mut StdRng, model: &[Naive]| {
            (!model.is_empty()).then(|| rng.random_range(0..model.len()))
        };
        match rng.random_range(0..100) {
            0..=34 => {
                let (priority, at) = (rng.random_range(-2..3), rng.random_range(0..50) * S);
                q.enqueue(ItemId(next_id), priority, at).unwrap();
                model.push(Naive {
                    id: next_id,
                    priority,
                    at,
                    seq: next_id,
                    reserved: false,
                });
                next_id += 1;
            }
            35..=49 => {
                if let Some(i) = pick(&mut rng, &model) {
                    let gone = model.swap_remove(i);
                    assert_eq!(q.remove(ItemId(gone.id)).unwrap().id.0, gone.id);
                }
            }
            50..=59 => {
                let expected = sorted(&model).first().map(|n| n.id);
                assert_eq!(q.pop_front(step * S).map(|i| i.id.0), expected);
                model.retain(|n| Some(n.id) != expected);
            }
            60..=69 => {
                if let Some(i) = pick(&mut rng, &model) {
                    let p = rng.random_range(-2..3);
                    model[i].priority = p;
                    let new_pos = q.change_priority(ItemId(model[i].id), p).unwrap();
                    let id = model[i].id;
                    let expect = sorted(&model).iter().position(|n| n.id == id).unwrap() + 1;
                    assert_eq!(new_pos, expect);
                }
            }
            70..=79 => {
                if let Some(i) = pick(&mut rng, &model) {
                    let r = !model[i].reserved;
                    model[i].reserved = r;
                    let id = ItemId(model[i].id);
                    if r {
                        q.reserve(id).unwrap();
                    } else {
                        q.release(id).unwrap();
                    }
                }
            }
            _ => {
                if let Some(i) = pick(&mut rng, &model) {
                    let id = model[i].id;
                    let s = sorted(&model);
                    let pos = s.iter().position(|n| n.id == id).unwrap() + 1;
                    assert_eq!(q.position(ItemId(id)), Some(pos), "step {step}");
                    let wpos = s
                        .iter()
                        .filter(|n| !n.reserved)
                        .position(|n| n.id == id)
                        .map(|p| p + 1);
                    assert_eq!(q.waiting_position(ItemId(id)), wpos, "step {step}");
                }
            }
        }
        assert_eq!(q.len(), model.len());
        assert_eq!(
            q.waiting_len(),
            model.iter().filter(|n| !n.reserved).count()
        );
        if step % 250 == 0 {
            let s: Vec<u64> = sorted(&model).iter().map(|n| n.id).collect();
            assert_eq!(ids(&q), s);
            let first_waiting = sorted(&model).iter().find(|n| !n.reserved).map(|n| n.id);
            assert_eq!(q.next_waiting().map(|i| i.id.0), first_waiting);
        }
    }
}
