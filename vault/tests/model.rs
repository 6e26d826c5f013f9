//! The decision module, model-checked in memory: simulated processes refreshing one seller
//! through a simulated store and a simulated Square, with a simulated clock, crashes at every
//! step, lost answers, pauses past the lease and revocations, in every order a seeded search
//! draws. After every step and at the end, the guarantees are checked.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
use square_oauth::{Flow, MerchantId};
use square_oauth_vault::decide::{self, Acquire, Completed, Completion, GrantMeta, Policy, Read, Record, SellerState};

/// Square's side, for one seller: which refresh tokens it issued and which are spent.
#[derive(Debug)]
struct Square {
    flow: Flow,
    /// The live PKCE refresh token (code flow: the one reusable token, always 0).
    live: u64,
    next_token: u64,
    /// Access tokens issued, in order; the serial of the newest.
    issued: u64,
    /// Presentations of a spent PKCE refresh token.
    reuses: u64,
    revoked: bool,
}

impl Square {
    /// A refresh with `token`: the new refresh token and access serial, or a refusal.
    fn refresh(&mut self, token: u64) -> Result<(u64, u64), ()> {
        if self.revoked {
            return Err(());
        }
        if self.flow == Flow::Pkce {
            if token != self.live {
                self.reuses += 1;
                return Err(());
            }
            self.next_token += 1;
            self.live = self.next_token;
        }
        self.issued += 1;
        Ok((self.live, self.issued))
    }
}

/// What the store keeps: the record, and the "sealed" tokens beside it.
#[derive(Clone, Debug)]
struct Row {
    record: Record,
    refresh_token: u64,
    access_serial: u64,
}

#[derive(Clone, Debug)]
enum Proc {
    Idle,
    /// Holds a lease, has not sent yet.
    Leased {
        fence: u64,
        token: u64,
    },
    /// Sent; the answer is on its way.
    Answered {
        fence: u64,
        answer: Answer,
    },
}

#[derive(Clone, Copy, Debug)]
enum Answer {
    Tokens { refresh: u64, serial: u64 },
    Refused,
    MaybeSent,
    NotSent,
    Busy,
}

#[derive(Clone, Copy, Debug, Hash)]
enum Event {
    Step(usize),
    Crash(usize),
    LoseAnswer(usize),
    Tick,
    Revoke,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct World {
    now: Timestamp,
    policy: Policy,
    square: Square,
    row: Row,
    procs: Vec<Proc>,
    /// PKCE refresh tokens the vault presented.
    presented: HashSet<u64>,
    presented_twice: u64,
    faults: u64,
    revoked_stored: bool,
    sent_after_revocation: u64,
    highest_stored_serial: u64,
}

fn meta(now: Timestamp) -> GrantMeta {
    GrantMeta { obtained_at: now, expires_at: Some(now + SignedDuration::from_hours(720)), refresh_at: now }
}

impl World {
    fn new(flow: Flow, procs: usize) -> World {
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        let record = decide::grant(None, MerchantId::new("M"), flow, meta(now), now);
        World {
            now,
            policy: Policy {
                lease: SignedDuration::from_secs(60),
                unknown_deadline: SignedDuration::from_secs(600),
                ..Policy::default()
            },
            square: Square { flow, live: 0, next_token: 0, issued: 0, reuses: 0, revoked: false },
            row: Row { record, refresh_token: 0, access_serial: 0 },
            procs: vec![Proc::Idle; procs],
            presented: HashSet::new(),
            presented_twice: 0,
            faults: 0,
            revoked_stored: false,
            sent_after_revocation: 0,
            highest_stored_serial: 0,
        }
    }

    /// One step of process `p`: each is one store transaction or one HTTP exchange.
    fn step(&mut self, p: usize, rng: &mut Rng) {
        match self.procs[p].clone() {
            Proc::Idle => {
                let owner = format!("p{p}");
                let (acquired, write) = decide::acquire(&self.row.record, &owner, self.now, &self.policy, true);
                if let Some(record) = write {
                    if matches!(record.state, SellerState::OutcomeUnknown { .. })
                        && self.row.record.state == SellerState::Active
                    {
                        // A holder outlived its lease: a pause (or a crash already counted).
                        self.faults += 1;
                    }
                    self.row.record = record;
                }
                if let Acquire::Refresh { fence } = acquired {
                    // A lease taken before the revocation may still send; none may be taken after.
                    if self.revoked_stored {
                        self.sent_after_revocation += 1;
                    }
                    self.procs[p] = Proc::Leased { fence, token: self.row.refresh_token };
                }
            }
            Proc::Leased { fence, token } => {
                let answer = match rng.below(8) {
                    0 => Answer::NotSent,
                    1 => Answer::Busy,
                    _ => {
                        if self.square.flow == Flow::Pkce && !self.presented.insert(token) {
                            self.presented_twice += 1;
                        }
                        match self.square.refresh(token) {
                            Ok((refresh, serial)) => Answer::Tokens { refresh, serial },
                            Err(()) => Answer::Refused,
                        }
                    }
                };
                self.procs[p] = Proc::Answered { fence, answer };
            }
            Proc::Answered { fence, answer } => {
                let completion = match answer {
                    Answer::Tokens { .. } => Completion::Refreshed(meta(self.now)),
                    Answer::Refused => Completion::Refused { reauthorize: true },
                    Answer::MaybeSent => Completion::MaybeSent,
                    Answer::NotSent => Completion::NotSent,
                    Answer::Busy => Completion::Busy { retry_after: None },
                };
                let (done, write) = decide::complete(&self.row.record, fence, completion, self.now, &self.policy);
                if let Some(record) = write {
                    self.row.record = record;
                    if let (Completed::Stored, Answer::Tokens { refresh, serial }) = (done, answer) {
                        self.row.refresh_token = refresh;
                        self.row.access_serial = serial;
                        assert!(
                            serial > self.highest_stored_serial,
                            "a stale write: {serial} after {}",
                            self.highest_stored_serial
                        );
                        self.highest_stored_serial = serial;
                    }
                } else {
                    assert!(matches!(done, Completed::Stale), "{done:?} without a write");
                }
                self.procs[p] = Proc::Idle;
            }
        }
    }

    fn apply(&mut self, event: Event, rng: &mut Rng) {
        match event {
            Event::Step(p) => self.step(p, rng),
            Event::Crash(p) => {
                if !matches!(self.procs[p], Proc::Idle) {
                    self.faults += 1;
                }
                self.procs[p] = Proc::Idle;
            }
            Event::LoseAnswer(p) => {
                if let Proc::Answered { fence, answer: Answer::Tokens { .. } } = self.procs[p] {
                    self.faults += 1;
                    self.procs[p] = Proc::Answered { fence, answer: Answer::MaybeSent };
                }
            }
            Event::Tick => {
                // Past a lease, sometimes; a paused process is one that is not stepped meanwhile.
                self.now += SignedDuration::from_secs(if rng.below(2) == 0 { 61 } else { 5 });
            }
            Event::Revoke => {
                self.square.revoked = true;
                let (_, write) = decide::revoke(&self.row.record, self.now);
                if let Some(record) = write {
                    self.row.record = record;
                }
                self.revoked_stored = true;
            }
        }
        self.check();
    }

    fn check(&self) {
        assert_eq!(self.square.reuses, 0, "Square saw a spent PKCE refresh token");
        assert_eq!(self.presented_twice, 0, "the vault presented a PKCE refresh token twice");
        assert_eq!(self.sent_after_revocation, 0, "a revoked seller was refreshed");
        let leases = self
            .procs
            .iter()
            .filter(|p| matches!(p, Proc::Leased { fence, .. } if *fence == self.row.record.fence))
            .count();
        assert!(leases <= 1, "two holders of the current fence");
        if self.row.record.state == SellerState::Active && self.square.flow == Flow::Pkce && !self.square.revoked {
            // Active means the stored token is live, unless a holder of the current fence is
            // between presenting it and storing the answer.
            let in_flight = self.procs.iter().any(|p| match p {
                Proc::Answered { fence, .. } => *fence == self.row.record.fence,
                _ => false,
            });
            assert!(
                in_flight || self.row.record.lease.is_some() || self.row.refresh_token == self.square.live,
                "an active PKCE seller with a dead token"
            );
        }
    }

    /// A fresh process, no faults, runs until nothing is in flight: what the seller ends as.
    fn finish(&mut self, rng: &mut Rng) {
        let fresh = self.procs.len();
        self.procs.push(Proc::Idle);
        // Let every lease run out, then drive the fresh process through one refresh.
        self.now += SignedDuration::from_secs(120);
        for _ in 0..3 {
            loop {
                self.step(fresh, rng);
                // No failures here: replace a NotSent/Busy draw by a real exchange.
                if let Proc::Answered { answer: Answer::NotSent | Answer::Busy, .. } = self.procs[fresh] {
                    self.procs[fresh] = Proc::Idle;
                    if let Some(record) = decide::release(&self.row.record, self.row.record.fence) {
                        self.row.record = record;
                    }
                    continue;
                }
                if matches!(self.procs[fresh], Proc::Idle) {
                    break;
                }
            }
            self.check();
        }
        let record = &self.row.record;
        if self.square.revoked {
            assert_eq!(record.state, SellerState::Revoked);
            return;
        }
        match self.square.flow {
            Flow::CodeFlow => {
                assert_eq!(record.state, SellerState::Active, "a code-flow seller was lost");
                assert_eq!(decide::read(record, self.now, &self.policy), Read::Use);
            }
            Flow::Pkce => match record.state {
                SellerState::Active => assert_eq!(self.row.refresh_token, self.square.live),
                SellerState::OutcomeUnknown { .. } | SellerState::MustAuthorize => {
                    assert!(self.faults > 0, "a PKCE seller lost without a crash, a lost answer or a pause");
                }
                SellerState::Revoked => unreachable!(),
            },
        }
    }
}

fn run(seed: u64, flow: Flow) -> u64 {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let procs = 2 + rng.below(2) as usize;
    let mut world = World::new(flow, procs);
    let steps = 10 + rng.below(30);
    let mut hasher = DefaultHasher::new();
    flow.hash(&mut hasher);
    for _ in 0..steps {
        let event = match rng.below(20) {
            0 => Event::Crash(rng.below(procs as u64) as usize),
            1 => Event::LoseAnswer(rng.below(procs as u64) as usize),
            2..=4 => Event::Tick,
            5 if rng.below(8) == 0 => Event::Revoke,
            _ => Event::Step(rng.below(procs as u64) as usize),
        };
        event.hash(&mut hasher);
        world.apply(event, &mut rng);
    }
    world.finish(&mut rng);
    hasher.finish()
}

#[test]
fn no_interleaving_of_processes_crashes_and_clock_breaks_a_guarantee() {
    let mut distinct = HashSet::new();
    for seed in 0..60_000u64 {
        distinct.insert(run(seed, Flow::Pkce));
        distinct.insert(run(seed, Flow::CodeFlow));
    }
    println!("distinct interleavings checked: {}", distinct.len());
    assert!(distinct.len() >= 100_000, "only {} distinct interleavings", distinct.len());
}
