//! The rotation worker's mailbox: how operations and the admin clock ask it to look at a
//! secret, or at the schedule, now.

use crate::model::arn::SecretKey;
use tokio::sync::mpsc;

/// How API calls reach the worker: "look at this secret now".
#[derive(Clone)]
pub struct RotationHandle {
    kick: mpsc::UnboundedSender<Kick>,
}

pub(super) enum Kick {
    Secret(SecretKey),
    Tick,
}

impl RotationHandle {
    pub fn channel() -> (RotationHandle, RotationReceiver) {
        let (kick, receiver) = mpsc::unbounded_channel();
        (RotationHandle { kick }, RotationReceiver(receiver))
    }

    /// Runs the secret's pending rotation job, if any, soon.
    pub fn run(&self, key: SecretKey) {
        let _ = self.kick.send(Kick::Secret(key));
    }

    /// Looks for due rotations now (after the clock moved).
    pub fn tick(&self) {
        let _ = self.kick.send(Kick::Tick);
    }
}

pub struct RotationReceiver(pub(super) mpsc::UnboundedReceiver<Kick>);
