//! `ringback user add|list|remove`: the users of the UI and the API, kept in the store of a
//! data folder (the same one `ringback serve --data-dir` uses; the server may be running).
//!
//! The password is read from standard input (its first line), never from the command line,
//! where other users of the machine could see it: `printf '%s\n' "$PW" | ringback user add ...`.
//! On a terminal it is asked for without echo.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use engine::store::sqlite::SqliteStore;
use engine::store::{Millis, Store, WriteOp};
use engine::users::{check_name, Role, User};

/// What a command printed, or why it failed (the caller prints and sets the exit code).
pub type Outcome = Result<String, String>;

/// Reads the password: a prompt without echo on a terminal, else the first line of `input`.
pub fn read_password(name: &str, input: &mut dyn BufRead) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("Password for {name}: "))
            .map_err(|e| format!("reading the password: {e}"));
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    let pw = line.strip_suffix('\n').unwrap_or(&line);
    Ok(pw.strip_suffix('\r').unwrap_or(pw).to_owned())
}

/// Runs `f` on the store of `data_dir`, then shuts the store down (queued writes committed).
fn with_store(data_dir: &Path, f: impl FnOnce(&SqliteStore) -> Outcome) -> Outcome {
    let store = SqliteStore::open(data_dir)
        .map_err(|e| format!("opening the store in {}: {e}", data_dir.display()))?;
    let out = f(&store);
    store.shutdown();
    out
}

fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

fn users(store: &SqliteStore) -> Result<Vec<User>, String> {
    store.users().map_err(|e| e.to_string())
}

fn commit(store: &SqliteStore, op: WriteOp) -> Result<(), String> {
    store.write(vec![op]).wait().map_err(|e| e.to_string())
}

/// Adds a user; refuses a name already taken (remove it first).
pub fn add(
    data_dir: &Path,
    name: &str,
    role: &str,
    services: &[String],
    password: &str,
) -> Outcome {
    let role = Role::parse(role).ok_or_else(|| {
        format!("unknown role {role:?}: one of Administrator, Supervisor, CallbackReadOnly")
    })?;
    check_name(name).map_err(|e| e.to_string())?;
    with_store(data_dir, |store| {
        if users(store)?.iter().any(|u| u.name == name) {
            return Err(format!(
                "user {name:?} exists already (`ringback user remove {name}` first)"
            ));
        }
        let user = User::new(name, role, services, password, now()).map_err(|e| e.to_string())?;
        let scope = scope(&user);
        commit(store, WriteOp::PutUser(user))?;
        Ok(format!("added {name} ({role}, {scope})\n"))
    })
}

/// Lists users: name, role and the services they see; never a hash.
pub fn list(data_dir: &Path) -> Outcome {
    with_store(data_dir, |store| {
        let users = users(store)?;
        if users.is_empty() {
            return Ok(format!(
                "no users in {}: the server is open to anyone who reaches it \
                 (add the first with `ringback user add NAME --role Administrator`)\n",
                data_dir.display()
            ));
        }
        let width = users.iter().map(|u| u.name.len()).max().unwrap_or(0).max(4);
        let mut out = format!("{:width$}  {:16}  SERVICES\n", "NAME", "ROLE");
        for u in &users {
            out.push_str(&format!(
                "{:width$}  {:16}  {}\n",
                u.name,
                u.role.as_str(),
                scope(u)
            ));
        }
        Ok(out)
    })
}

/// Removes a user.
pub fn remove(data_dir: &Path, name: &str) -> Outcome {
    with_store(data_dir, |store| {
        if !users(store)?.iter().any(|u| u.name == name) {
            return Err(format!("no user {name:?}"));
        }
        commit(
            store,
            WriteOp::DeleteUser {
                name: name.to_owned(),
            },
        )?;
        Ok(format!("removed {name}\n"))
    })
}

fn scope(u: &User) -> String {
    if u.services.is_empty() {
        "all services".to_owned()
    } else {
        u.services.join(",")
    }
}
