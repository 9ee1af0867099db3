//! The allocation runner: one allocation on this node. It builds the allocation
//! directory, runs the tasks in lifecycle order (prestart, main with poststart after the
//! main tasks run, poststop once they are dead), kills the rest when a task fails, the
//! leader dies or the main tasks are done, stops everything when the servers ask, and
//! folds the task states into the allocation's client status (Nomad's rules), which it
//! sends to the updater.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_types::alloc::task_event;
use drover_types::{
    Allocation, ClientStatus, DesiredStatus, Node, Task, TaskState, TaskStateValue,
};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::allocdir::AllocDir;
use crate::drivers::Drivers;
use crate::fetchers::Fetchers;
use crate::logmon::process::LogmonCommand;
use crate::state::ClientDb;
use crate::taskrunner::{TaskCtl, TaskRunner, new_event};

/// What every runner shares.
pub struct RunnerEnv {
    /// Client state.
    pub db: ClientDb,
    /// Driver plugins.
    pub drivers: Arc<Drivers>,
    /// Artifact fetcher plugins.
    pub fetchers: Arc<Fetchers>,
    /// The node as last registered.
    pub node: watch::Receiver<Arc<Node>>,
    /// The client's region.
    pub region: String,
    /// How to start a log collector.
    pub logmon: LogmonCommand,
    /// Root of the allocation directories.
    pub alloc_root: PathBuf,
    /// `max_kill_timeout`.
    pub max_kill_timeout: Duration,
    /// Replaces the default env denylist (`env.denylist` client option).
    pub env_denylist: Option<Vec<String>>,
}

/// A client-side view of an allocation, sent to the servers.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocUpdate {
    /// The allocation.
    pub id: String,
    /// Derived from the task states.
    pub client_status: ClientStatus,
    /// Why.
    pub client_description: String,
    /// Every task's state.
    pub task_states: BTreeMap<String, TaskState>,
}

/// What the client holds of a running allocation runner.
#[derive(Clone)]
pub struct AllocHandle {
    /// The allocation as last received.
    pub alloc: watch::Sender<Arc<Allocation>>,
    /// The tasks' controls.
    pub tasks: Arc<Mutex<BTreeMap<String, TaskCtl>>>,
    /// The allocation directory.
    pub dir: AllocDir,
    /// Becomes true once every task is dead.
    pub terminal: watch::Receiver<bool>,
    /// Cancel to stop every task (agent shutdown of a dev agent, destroy).
    pub stop: CancellationToken,
}

impl AllocHandle {
    /// Whether every task is dead.
    pub fn is_terminal(&self) -> bool {
        *self.terminal.borrow()
    }

    /// The controls of one task, or of all.
    pub fn task(&self, name: &str) -> Option<TaskCtl> {
        self.tasks.lock().ok()?.get(name).cloned()
    }

    /// Every task's control.
    pub fn all_tasks(&self) -> Vec<TaskCtl> {
        self.tasks
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Prestart,
    Main,
    Poststart,
    Poststop,
}

fn phase(t: &Task) -> (Phase, bool) {
    match t.lifecycle.as_ref() {
        None => (Phase::Main, false),
        Some(l) => match l.hook.as_str() {
            "prestart" => (Phase::Prestart, l.sidecar),
            "poststart" => (Phase::Poststart, l.sidecar),
            "poststop" => (Phase::Poststop, false),
            _ => (Phase::Main, false),
        },
    }
}

/// Starts the runner of `alloc` (restored when `restore`), returning its handle.
pub fn start(
    env: Arc<RunnerEnv>,
    alloc: Arc<Allocation>,
    updates: mpsc::UnboundedSender<AllocUpdate>,
) -> Result<AllocHandle, String> {
    let dir = AllocDir::new(&env.alloc_root, &alloc.id).map_err(|e| e.to_string())?;
    let (alloc_tx, alloc_rx) = watch::channel(alloc.clone());
    let (terminal_tx, terminal_rx) = watch::channel(false);
    let handle = AllocHandle {
        alloc: alloc_tx,
        tasks: Arc::new(Mutex::new(BTreeMap::new())),
        dir: dir.clone(),
        terminal: terminal_rx,
        stop: CancellationToken::new(),
    };
    let parts = RunParts {
        tasks: handle.tasks.clone(),
        stop: handle.stop.clone(),
    };
    tokio::spawn(async move {
        run(env, alloc, alloc_rx, parts, dir, updates, terminal_tx).await;
    });
    Ok(handle)
}

/// The state of a task that could not even be set up: dead, failed, with one
/// `Setup Failure` event saying why.
pub(crate) fn setup_failed(msg: &str) -> TaskState {
    let mut e = new_event(task_event::SETUP_FAILURE);
    e.setup_error = msg.to_owned();
    e.display_message = msg.to_owned();
    e.fails_task = true;
    TaskState {
        state: TaskStateValue::Dead,
        failed: true,
        events: vec![e],
        ..Default::default()
    }
}

/// The update that fails an allocation none of whose tasks could start.
pub(crate) fn failed_before_start(alloc: &Allocation, msg: &str) -> AllocUpdate {
    let tasks = alloc
        .job
        .as_ref()
        .and_then(|j| j.task_groups.iter().find(|g| g.name == alloc.task_group))
        .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
        .unwrap_or_default();
    AllocUpdate {
        id: alloc.id.clone(),
        client_status: ClientStatus::Failed,
        client_description: msg.to_owned(),
        task_states: tasks.into_iter().map(|t| (t, setup_failed(msg))).collect(),
    }
}

/// What the runner's own task keeps of its handle (not the allocation sender: the
/// runner ends once the client drops the handle).
struct RunParts {
    tasks: Arc<Mutex<BTreeMap<String, TaskCtl>>>,
    stop: CancellationToken,
}

struct Member {
    task: Task,
    phase: Phase,
    sidecar: bool,
    ctl: Option<TaskCtl>,
    /// A state for a task that never started (the alloc stopped first).
    unstarted: TaskState,
}

impl Member {
    /// `f` over the task's current state (no copy of its events).
    fn with_state<R>(&self, f: impl FnOnce(&TaskState) -> R) -> R {
        match &self.ctl {
            Some(c) => f(&c.state.borrow()),
            None => f(&self.unstarted),
        }
    }
    fn state(&self) -> TaskState {
        self.with_state(TaskState::clone)
    }
    fn value(&self) -> TaskStateValue {
        self.with_state(|s| s.state)
    }
    fn dead(&self) -> bool {
        self.value() == TaskStateValue::Dead
    }
    fn failed(&self) -> bool {
        self.with_state(|s| s.state == TaskStateValue::Dead && s.failed)
    }
}

async fn run(
    env: Arc<RunnerEnv>,
    alloc: Arc<Allocation>,
    mut alloc_rx: watch::Receiver<Arc<Allocation>>,
    handle: RunParts,
    dir: AllocDir,
    updates: mpsc::UnboundedSender<AllocUpdate>,
    terminal: watch::Sender<bool>,
) {
    let changed = Arc::new(Notify::new());
    let group = alloc
        .job
        .as_ref()
        .and_then(|j| j.task_groups.iter().find(|g| g.name == alloc.task_group))
        .cloned();
    let Some(group) = group else {
        tracing::error!(alloc = %alloc.id, "allocation without its job or task group: cannot run it");
        let _ = updates.send(AllocUpdate {
            id: alloc.id.clone(),
            client_status: ClientStatus::Failed,
            client_description: "allocation has no job or task group".into(),
            task_states: BTreeMap::new(),
        });
        terminal.send_replace(true);
        return;
    };
    let mut members: Vec<Member> = group
        .tasks
        .iter()
        .map(|t| {
            let (phase, sidecar) = phase(t);
            Member {
                task: t.clone(),
                phase,
                sidecar,
                ctl: None,
                unstarted: TaskState::default(),
            }
        })
        .collect();
    // Restore: tasks with stored state start (or recover) right away, whatever phase.
    let stored: BTreeMap<String, crate::state::LocalTaskState> = members
        .iter()
        .filter_map(|m| {
            env.db
                .task(&alloc.id, &m.task.name)
                .ok()
                .flatten()
                .map(|s| (m.task.name.clone(), s))
        })
        .collect();
    let setup_error = match dir.build() {
        Err(e) => Some(format!("failed to build the allocation directory: {e}")),
        // A restored allocation's own tasks hold its ports.
        Ok(()) if stored.is_empty() => crate::ports::check_ports(&alloc).err(),
        Ok(()) => None,
    };
    if let Some(msg) = &setup_error {
        for m in &mut members {
            m.unstarted = setup_failed(msg);
        }
    }
    let spawn = |m: &mut Member, handle: &RunParts, current: &Arc<Allocation>| {
        if m.ctl.is_some() {
            return;
        }
        let local = stored.get(&m.task.name).cloned();
        let (runner, ctl) = TaskRunner::new(
            env.clone(),
            current.clone(),
            m.task.clone(),
            dir.clone(),
            local,
            changed.clone(),
        );
        if let Ok(mut t) = handle.tasks.lock() {
            t.insert(m.task.name.clone(), ctl.clone());
        }
        m.ctl = Some(ctl);
        tokio::spawn(runner.run());
    };
    if setup_error.is_none() {
        let current = alloc_rx.borrow().clone();
        for m in members.iter_mut() {
            if stored.contains_key(&m.task.name) {
                spawn(m, &handle, &current);
            }
        }
    }
    let mut stopping = setup_error.is_some();
    let mut last_sent: Option<AllocUpdate> = None;
    let mut alloc_closed = false;
    loop {
        let current = alloc_rx.borrow().clone();
        if current.desired_status != DesiredStatus::Run {
            stopping = true;
        }
        if handle.stop.is_cancelled() {
            stopping = true;
        }
        // Kill decisions.
        let any_failed = members.iter().any(Member::failed);
        let leader_dead = members
            .iter()
            .any(|m| m.task.leader && m.dead() && m.ctl.is_some());
        let mains: Vec<&Member> = members.iter().filter(|m| m.phase == Phase::Main).collect();
        let mains_dead = !mains.is_empty() && mains.iter().all(|m| m.dead());
        let prestart_ok = members
            .iter()
            .filter(|m| m.phase == Phase::Prestart)
            .all(|m| {
                if m.sidecar {
                    m.value() == TaskStateValue::Running
                } else {
                    m.dead() && !m.failed()
                }
            });
        let mains_running = mains.iter().all(|m| m.value() == TaskStateValue::Running);
        if stopping || any_failed || leader_dead || mains_dead {
            let reason = if stopping {
                None
            } else if any_failed {
                let failed = members
                    .iter()
                    .find(|m| m.failed())
                    .map(|m| m.task.name.clone())
                    .unwrap_or_default();
                let mut e = new_event(task_event::SIBLING_FAILED);
                e.failed_sibling = failed.clone();
                e.display_message = format!("Task's sibling {failed:?} failed");
                Some(e)
            } else if leader_dead {
                let mut e = new_event(task_event::LEADER_DEAD);
                e.display_message = "Leader Task in Group dead".into();
                Some(e)
            } else {
                let mut e = new_event(task_event::MAIN_DEAD);
                e.display_message = "Main tasks in the group died".into();
                Some(e)
            };
            for m in members.iter_mut() {
                if m.phase == Phase::Poststop && !stopping {
                    continue;
                }
                match &m.ctl {
                    Some(c) if !m.dead() => c.kill_with(reason.clone()),
                    Some(_) => {}
                    None => m.unstarted.state = TaskStateValue::Dead,
                }
            }
            // Poststop tasks run once everything else is dead (not when the servers
            // stopped the allocation before anything ran).
            let others_dead = members
                .iter()
                .filter(|m| m.phase != Phase::Poststop)
                .all(Member::dead);
            if others_dead && !stopping {
                for m in members.iter_mut().filter(|m| m.phase == Phase::Poststop) {
                    spawn(m, &handle, &current);
                }
            }
        } else {
            for m in members.iter_mut().filter(|m| m.phase == Phase::Prestart) {
                spawn(m, &handle, &current);
            }
            if prestart_ok {
                for m in members.iter_mut().filter(|m| m.phase == Phase::Main) {
                    spawn(m, &handle, &current);
                }
                if mains_running {
                    for m in members.iter_mut().filter(|m| m.phase == Phase::Poststart) {
                        spawn(m, &handle, &current);
                    }
                }
            }
        }
        // Report.
        let states: BTreeMap<String, TaskState> = members
            .iter()
            .map(|m| (m.task.name.clone(), m.state()))
            .collect();
        let (status, why) = Allocation::derive_client_status(&states);
        let update = AllocUpdate {
            id: current.id.clone(),
            client_status: status,
            client_description: why.to_owned(),
            task_states: states,
        };
        if last_sent.as_ref() != Some(&update) {
            let _ = updates.send(update.clone());
            last_sent = Some(update);
        }
        let all_dead = members.iter().all(Member::dead);
        if all_dead && !*terminal.borrow() {
            terminal.send_replace(true);
        }
        tokio::select! {
            _ = changed.notified() => {}
            r = alloc_rx.changed(), if !alloc_closed => {
                if r.is_err() {
                    alloc_closed = true;
                }
            }
            _ = handle.stop.cancelled(), if !stopping => {}
        }
        if all_dead && alloc_closed {
            return;
        }
    }
}
