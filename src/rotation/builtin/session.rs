//! A logged-in database connection of either family, and what the rotation steps do with it.

use super::db_secret::{StepResult, Target};
use super::tls::RotationTls;
use super::{mysql, postgres};
use crate::rotation::function::DbEngine;

/// A logged-in connection to either family.
pub(super) enum Session {
    Postgres(postgres::Session),
    Mysql(mysql::Session),
}

impl Session {
    pub(super) async fn check(&self) -> StepResult<()> {
        match self {
            Session::Postgres(s) => s.check().await,
            Session::Mysql(s) => s.check().await,
        }
    }

    pub(super) async fn set_own_password(&self, user: &str, password: &str) -> StepResult<()> {
        match self {
            Session::Postgres(s) => s.set_password(user, password).await,
            Session::Mysql(s) => s.set_own_password(password).await,
        }
    }

    /// As the master: make `user` exist with `model`'s grants (or role membership) and set its
    /// password.
    pub(super) async fn set_user_password_like(
        &self,
        model: &str,
        user: &str,
        password: &str,
    ) -> StepResult<()> {
        match self {
            Session::Postgres(s) => s.ensure_member_of(model, user, password).await,
            Session::Mysql(s) => s.ensure_user_like(model, user, password).await,
        }
    }

    pub(super) async fn close(self) {
        match self {
            Session::Postgres(s) => s.close(),
            Session::Mysql(s) => s.close().await,
        }
    }
}

/// Logs in to `target` with the driver of `engine`.
pub(super) async fn login(
    target: &Target,
    engine: DbEngine,
    tls: &RotationTls,
) -> StepResult<Session> {
    match engine {
        DbEngine::Postgres => postgres::connect(target, tls).await.map(Session::Postgres),
        DbEngine::Mysql | DbEngine::Mariadb => {
            mysql::connect(target, tls).await.map(Session::Mysql)
        }
    }
}
