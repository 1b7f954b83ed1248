//! Unit tests of the circuit breaker: every transition on a manual clock, concurrent half-open admits,
//! lost probes, `wait_closed` and the send gate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use creatorflow_queue::ManualClock;

use super::*;

const H: &str = "open-api.tiktokglobalshop.com";

fn setup() -> (ManualClock, Breakers) {
    let clock = ManualClock::new(1_000_000);
    let b = Breakers::new(Arc::new(clock.clone()), BreakerConfig::default());
    (clock, b)
}

fn fail(b: &Breakers, n: u32) {
    for i in 0..n {
        b.record_failure(H, &format!("connection refused #{i}"));
    }
}

fn status(b: &Breakers) -> HostStatus {
    b.snapshot()
        .into_iter()
        .find(|s| s.host == H)
        .unwrap_or_else(|| panic!("no status for {H}"))
}

#[test]
fn closed_until_the_threshold_and_success_resets_the_count() {
    let (_c, b) = setup();
    assert!(!b.admit(H).map(|a| a.probe).unwrap_or(true));
    fail(&b, 4);
    assert_eq!(status(&b).state, BreakerState::Closed);
    assert_eq!(status(&b).consecutive_failures, 4);
    assert!(b.admit(H).is_ok());
    b.record_success(H);
    assert_eq!(status(&b).consecutive_failures, 0);
    // The count restarted: four more failures still do not open it.
    fail(&b, 4);
    assert_eq!(status(&b).state, BreakerState::Closed);
    fail(&b, 1);
    assert_eq!(status(&b).state, BreakerState::Open);
}

#[test]
fn open_refuses_for_the_period_then_admits_one_probe() {
    let (c, b) = setup();
    fail(&b, 5);
    let s = status(&b);
    assert_eq!(s.state, BreakerState::Open);
    assert_eq!(s.opened_at_ms, Some(1_000_000));
    assert_eq!(s.next_probe_at_ms, Some(1_001_000));
    assert_eq!(s.last_error.as_deref(), Some("connection refused #4"));
    let e = b
        .admit(H)
        .err()
        .unwrap_or_else(|| panic!("open host admitted"));
    assert_eq!(e.host, H);
    assert_eq!(e.retry_in, Duration::from_millis(1000));
    c.advance(Duration::from_millis(999));
    assert_eq!(
        b.admit(H).err().map(|e| e.retry_in),
        Some(Duration::from_millis(1))
    );

    c.advance(Duration::from_millis(1));
    // The snapshot already shows what the next caller will meet.
    assert_eq!(status(&b).state, BreakerState::HalfOpen);
    let probe = b.admit(H).unwrap_or_else(|e| panic!("{e}"));
    assert!(probe.probe);
    let s = status(&b);
    assert_eq!((s.state, s.probe_in_flight), (BreakerState::HalfOpen, true));
    // Everyone else is parked briefly while the probe is out.
    let e = b
        .admit(H)
        .err()
        .unwrap_or_else(|| panic!("second probe admitted"));
    assert_eq!(e.retry_in, Duration::from_secs(1));
    b.record_success(H);
    let s = status(&b);
    assert_eq!(s.state, BreakerState::Closed);
    assert_eq!((s.opened_at_ms, s.next_probe_at_ms), (None, None));
    assert!(!b.admit(H).map(|a| a.probe).unwrap_or(true));
}

#[test]
fn failed_probes_double_the_period_up_to_the_cap_and_success_resets_it() {
    let (c, b) = setup();
    fail(&b, 5);
    let mut expected = vec![2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    let mut period = 1_000;
    for want in expected.drain(..) {
        c.advance(Duration::from_millis(period));
        let probe = b.admit(H).unwrap_or_else(|e| panic!("{e}"));
        assert!(probe.probe);
        b.record_failure(H, "timeout");
        let s = status(&b);
        assert_eq!(s.state, BreakerState::Open);
        assert_eq!(s.open_for_ms, want);
        assert_eq!(s.next_probe_at_ms, Some(c.now_ms() + want));
        // Still refused just before the new period ends.
        c.advance(Duration::from_millis(u64::try_from(want - 1).unwrap_or(0)));
        assert!(b.admit(H).is_err());
        period = 1;
    }
    c.advance(Duration::from_millis(1));
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    b.record_success(H);
    // The next outage starts again from the first period.
    fail(&b, 5);
    assert_eq!(status(&b).open_for_ms, 1_000);
}

#[test]
fn stragglers_failing_while_open_do_not_extend_the_period() {
    let (c, b) = setup();
    fail(&b, 5);
    c.advance(Duration::from_millis(500));
    fail(&b, 3);
    let s = status(&b);
    assert_eq!(
        (s.open_for_ms, s.next_probe_at_ms),
        (1_000, Some(1_001_000))
    );
    assert_eq!(s.consecutive_failures, 8);
}

#[test]
fn a_straggler_failing_after_the_period_reopens_like_a_failed_probe() {
    let (c, b) = setup();
    fail(&b, 5);
    // A call admitted before the host opened times out 1.5 s later, after the 1 s period.
    c.advance(Duration::from_millis(1500));
    b.record_failure(H, "timeout after 1500 ms");
    let s = status(&b);
    assert_eq!((s.state, s.open_for_ms), (BreakerState::Open, 2_000));
    assert_eq!(s.next_probe_at_ms, Some(1_001_500 + 2_000));
    // So the pipeline's follow-up `admit` only learns how long to park; it takes no probe.
    assert_eq!(
        b.admit(H).err().map(|e| e.retry_in),
        Some(Duration::from_secs(2))
    );
    c.advance(Duration::from_secs(2));
    assert!(b.admit(H).is_ok_and(|a| a.probe));
}

#[test]
fn an_answer_closes_the_host_like_a_success() {
    let (c, b) = setup();
    fail(&b, 5);
    c.advance(Duration::from_secs(1));
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    // e.g. a 36009004 business error: the host is up even though the call failed.
    b.record_answer(H);
    assert_eq!(status(&b).state, BreakerState::Closed);
    assert!(!b.any_open());
}

#[test]
fn concurrent_admits_in_half_open_give_exactly_one_probe() {
    for _round in 0..20 {
        let (c, b) = setup();
        fail(&b, 5);
        c.advance(Duration::from_secs(1));
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let probes = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (b, barrier) = (b.clone(), Arc::clone(&barrier));
                let (probes, refused) = (Arc::clone(&probes), Arc::clone(&refused));
                std::thread::spawn(move || {
                    barrier.wait();
                    match b.admit(H) {
                        Ok(a) if a.probe => {
                            probes.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => panic!("a half-open host admitted a non-probe"),
                        Err(_) => {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().is_ok(), "admit thread panicked");
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert_eq!(refused.load(Ordering::SeqCst), threads - 1);
    }
}

#[test]
fn an_abandoned_probe_is_released_at_once() {
    let (c, b) = setup();
    fail(&b, 5);
    c.advance(Duration::from_secs(1));
    // A non-probe caller giving up changes nothing.
    b.record_abandoned(H);
    assert_eq!(status(&b).state, BreakerState::HalfOpen);
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    assert!(b.admit(H).is_err());
    // The caller was cancelled mid-call and says so.
    b.record_abandoned(H);
    assert!(!status(&b).probe_in_flight);
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    assert!(b.admit(H).is_err());
}

#[test]
fn retry_in_never_takes_the_probe() {
    let (c, b) = setup();
    assert_eq!(b.retry_in(H), None);
    fail(&b, 4);
    assert_eq!(b.retry_in(H), None);
    fail(&b, 1);
    assert_eq!(b.retry_in(H), Some(Duration::from_millis(1000)));
    assert!(b.is_open(H));
    c.advance(Duration::from_millis(1000));
    // The period is over: asking (as often as you like) leaves the probe to a real call.
    assert_eq!(b.retry_in(H), None);
    assert_eq!(b.retry_in(H), None);
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    assert_eq!(b.retry_in(H), Some(Duration::from_secs(1)));
    b.record_success(H);
    assert_eq!(b.retry_in(H), None);
    assert!(!b.is_open(H));
}

#[test]
fn a_lost_probe_is_replaced_after_the_probe_timeout() {
    let (c, b) = setup();
    fail(&b, 5);
    c.advance(Duration::from_secs(1));
    // A probe that never reports (a stuck or cancelled task): only the timeout can free the host.
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    c.advance(Duration::from_secs(34));
    assert!(b.admit(H).is_err());
    c.advance(Duration::from_secs(1));
    let replacement = b.admit(H).unwrap_or_else(|e| panic!("{e}"));
    assert!(replacement.probe);
    assert!(b.admit(H).is_err());
}

#[test]
fn hosts_are_independent_and_the_snapshot_is_sorted_and_serializable() {
    let (_c, b) = setup();
    for _ in 0..5 {
        b.record_failure("z.example", "reset");
    }
    b.record_failure("a.example", &"x".repeat(10_000));
    assert!(b.admit("z.example").is_err());
    assert!(b.admit("a.example").is_ok());
    assert!(b.admit("never-failed.example").is_ok());
    let snap = b.snapshot();
    let names: Vec<&str> = snap.iter().map(|s| s.host.as_str()).collect();
    assert_eq!(names, ["a.example", "z.example"]);
    assert!(
        snap[0]
            .last_error
            .as_ref()
            .is_some_and(|e| e.chars().count() <= 201)
    );
    let json = serde_json::to_value(&snap).unwrap_or_default();
    assert_eq!(json[0]["state"], "closed");
    assert_eq!(json[1]["state"], "open");
    assert!(b.any_open());
}

#[tokio::test]
async fn wait_closed_resolves_when_the_probe_succeeds() {
    let (c, b) = setup();
    // Closed (and unknown) hosts resolve at once.
    tokio::time::timeout(Duration::from_secs(5), b.wait_closed(H))
        .await
        .unwrap_or_else(|_| panic!("wait_closed on a closed host did not resolve"));
    fail(&b, 5);
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.wait_closed(H).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished());
    // A failed probe does not wake it.
    c.advance(Duration::from_secs(1));
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    b.record_failure(H, "timeout");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished());
    c.advance(Duration::from_secs(2));
    assert!(b.admit(H).is_ok_and(|a| a.probe));
    b.record_success(H);
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap_or_else(|_| panic!("wait_closed did not resolve after the host closed"))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_send_gate_holds_back_calls_admitted_before_the_host_opened() {
    let (clock, b) = setup();
    // Admitted while closed, then the host goes down while the call waits for a rate-limit slot.
    let straggler = b.gate(H, b.admit(H).unwrap());
    assert!(straggler.may_send().is_ok(), "closed: it goes out");
    fail(&b, 5);
    let refused = straggler.may_send().unwrap_err();
    assert!(refused.contains("circuit open"), "{refused}");

    // The probe sends once; its own retry stays home while its answer is pending.
    clock.advance(Duration::from_secs(1));
    let admit = b.admit(H).unwrap();
    assert!(admit.probe);
    let probe = b.gate(H, admit);
    assert!(probe.may_send().is_ok());
    assert!(probe.may_send().is_err());
    assert!(straggler.may_send().is_err(), "the probe slot is taken");

    // Once the host is closed again, everyone goes out.
    b.record_success(H);
    assert!(straggler.may_send().is_ok());
    assert!(probe.may_send().is_ok());
}
