//! The LED matrix of the Uno Q through a fake `arduino-router`: a Unix socket in a temporary
//! directory that reads MsgPack-RPC requests `[0, id, method, params]`, records them and
//! answers `[1, id, nil, true]` as the router relays the sketch's answer (or never answers).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::cli::free_port;
use crate::fake_upstreams::FakeKind;
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::fast_sync_env;

const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "matrix-test-token";

/// One call the sketch received: method and parameters.
type Call = (String, Vec<i64>);

struct FakeRouter {
    path: PathBuf,
    calls: Arc<Mutex<Vec<Call>>>,
    _dir: tempfile::TempDir,
}

impl FakeRouter {
    /// `answer`: whether calls get an answer; without one the caller must time out.
    fn start(answer: bool) -> FakeRouter {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arduino-router.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || serve_connection(stream, &recorded, answer));
            }
        });
        FakeRouter {
            path,
            calls,
            _dir: dir,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "TRADING_PLANNER_BOARD__MATRIX_SOCKET",
                self.path.display().to_string(),
            ),
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_owned()),
            ("RUST_LOG", "info,trading_planner::board=trace".to_owned()),
        ]
    }
}

/// Reads requests until the client hangs up; a malformed one fails the connection (and the
/// test through the missing call).
fn serve_connection(mut stream: UnixStream, calls: &Mutex<Vec<Call>>, answer: bool) {
    use rmp::decode::{read_array_len, read_int, read_str_len};
    while let Ok(parts) = read_array_len(&mut stream) {
        assert_eq!(parts, 4, "a request has 4 parts");
        let kind: u8 = read_int(&mut stream).unwrap();
        assert_eq!(kind, 0, "a request");
        let id: u32 = read_int(&mut stream).unwrap();
        let len = read_str_len(&mut stream).unwrap();
        let mut method = vec![0; len as usize];
        stream.read_exact(&mut method).unwrap();
        let count = read_array_len(&mut stream).unwrap();
        let params = (0..count)
            .map(|_| read_int::<i64, _>(&mut stream).unwrap())
            .collect();
        calls
            .lock()
            .unwrap()
            .push((String::from_utf8(method).unwrap(), params));
        if answer {
            let mut out = Vec::new();
            rmp::encode::write_array_len(&mut out, 4).unwrap();
            rmp::encode::write_uint(&mut out, 1).unwrap();
            rmp::encode::write_uint(&mut out, u64::from(id)).unwrap();
            rmp::encode::write_nil(&mut out).unwrap();
            rmp::encode::write_bool(&mut out, true).unwrap();
            if stream.write_all(&out).is_err() {
                return;
            }
        }
    }
}

/// `[mode, value, flags]` of every `tp_show` call, in order.
fn shown(router: &FakeRouter) -> Vec<Vec<i64>> {
    router
        .calls()
        .into_iter()
        .map(|(method, params)| {
            assert_eq!(method, "tp_show");
            assert_eq!(params.len(), 3, "{params:?}");
            params
        })
        .collect()
}

/// How many times the matrix task has read the upstreams and the trading mode.
fn state_reads(server: &ServerProcess) -> usize {
    server.stderr().matches("LED matrix: state read").count()
}

/// Waits until the matrix task has read the state `n` more times.
fn wait_for_state_reads(server: &ServerProcess, n: usize) {
    let start = state_reads(server);
    wait_for(WAIT, "the matrix task to read the state", || {
        (state_reads(server) >= start + n).then_some(())
    });
}

fn run_plan(server: &ServerProcess) -> Value {
    let (status, started) = server.request("POST", "/api/plans", "", Some(TOKEN));
    assert_eq!(status, 202, "{started}");
    let run = format!("/api/runs/{}", started["run_id"]);
    wait_for(WAIT, "the plan", || {
        let (_, body) = server.request("GET", &run, "", Some(TOKEN));
        (body["state"] == "finished").then_some(())
    });
    let (status, plan) = server.request("GET", "/api/plans/latest", "", Some(TOKEN));
    assert_eq!(status, 200, "{plan}");
    plan
}

fn plan_steps(plan: &Value) -> i64 {
    let steps = plan["steps"]
        .as_array()
        .or_else(|| plan["plan"]["steps"].as_array())
        .unwrap_or_else(|| panic!("no steps in {plan}"));
    steps.len() as i64
}

#[test]
fn the_matrix_shows_idle_planning_progress_the_plan_steps_and_live_mode_sending_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    let router = FakeRouter::start(true);
    let server = ServerProcess::start(dir.path(), &router.env());

    // Idle, nothing down, not live.
    wait_for(WAIT, "the idle screen", || {
        (shown(&router).first() == Some(&vec![0, 0, 0])).then_some(())
    });
    // Past the shortest gap between two calls, so the run's first progress goes out at once.
    wait_for_state_reads(&server, 1);

    let plan = run_plan(&server);
    let steps = plan_steps(&plan);
    let calls = wait_for(WAIT, "the plan's screen", || {
        let calls = shown(&router);
        (calls.last() == Some(&vec![2, steps, 0])).then_some(calls)
    });
    let planning: Vec<i64> = calls.iter().filter(|c| c[0] == 1).map(|c| c[1]).collect();
    assert!(!planning.is_empty(), "no planning screen: {calls:?}");
    assert!(
        planning.windows(2).all(|w| w[0] < w[1]) && planning.iter().all(|c| (0..=13).contains(c)),
        "progress goes forward across the 13 columns, one call per drawn change: {calls:?}"
    );

    // Live trading: the flag joins the plan's screen.
    let store =
        trading_planner::store::Store::open(&dir.path().join("trading-planner.db")).unwrap();
    store
        .set_trading_mode(trading_planner::store::TradingMode::Live)
        .unwrap();
    wait_for(WAIT, "the live flag", || {
        (shown(&router).last() == Some(&vec![2, steps, 2])).then_some(())
    });

    // Nothing changes: several reads of the state later, no call went out.
    let before = shown(&router);
    wait_for_state_reads(&server, 3);
    let after = shown(&router);
    assert_eq!(before, after, "calls without a change");
    assert!(
        after.windows(2).all(|w| w[0] != w[1]),
        "a call repeated the screen: {after:?}"
    );
}

#[test]
fn an_upstream_down_is_flagged_on_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let router = FakeRouter::start(true);
    let mut env = router.env();
    // A scoring service nobody listens for.
    env.extend(fast_sync_env(
        FakeKind::Scoring,
        &format!("http://127.0.0.1:{}", free_port()),
    ));
    let _server = ServerProcess::start(dir.path(), &env);
    wait_for(WAIT, "the upstream-down flag", || {
        shown(&router)
            .last()
            .is_some_and(|c| c[0] == 0 && c[2] & 1 == 1)
            .then_some(())
    });
}

#[test]
fn without_a_router_socket_the_service_runs_and_says_so_once_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-router.sock");
    let env = [
        (
            "TRADING_PLANNER_BOARD__MATRIX_SOCKET",
            missing.display().to_string(),
        ),
        ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_owned()),
        ("RUST_LOG", "info,trading_planner::board=trace".to_owned()),
    ];
    let server = ServerProcess::start(dir.path(), &env);
    wait_for(WAIT, "the note about the missing router", || {
        server
            .stderr()
            .contains("no arduino-router socket")
            .then_some(())
    });
    // A plan runs as usual, its progress finding no matrix to show on.
    let plan = run_plan(&server);
    plan_steps(&plan);
    wait_for_state_reads(&server, 1);
    let log = server.stderr();
    let notes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("no arduino-router socket"))
        .collect();
    assert_eq!(notes.len(), 1, "{log}");
    assert!(notes[0].contains("DEBUG"), "{log}");
    assert!(!log.contains("WARN") && !log.contains("ERROR"), "{log}");
}

#[test]
fn a_router_that_never_answers_times_out_and_the_service_stays_responsive() {
    let dir = tempfile::tempdir().unwrap();
    let router = FakeRouter::start(false);
    let server = ServerProcess::start(dir.path(), &router.env());
    wait_for(WAIT, "the first call", || {
        (!router.calls().is_empty()).then_some(())
    });
    // The call hangs; the service answers and plans meanwhile.
    let plan = run_plan(&server);
    plan_steps(&plan);
    wait_for(WAIT, "the timed-out call", || {
        server.stderr().contains("no answer within").then_some(())
    });
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
}
