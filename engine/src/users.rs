//! The people who use the Service Management UI and the API (the help's "Login, Roles, and
//! Permissions"): each has one role and, optionally, the services it may see.
//!
//! GMS reads them from Configuration Server persons (`gms/roles`, `gms/services`); Ringback keeps
//! them in its store. A password is kept only as an Argon2id hash in PHC form (`$argon2id$...`,
//! salt and parameters inside), never in clear.
//!
//! - **Administrator**: every panel, and the only role that changes services, templates,
//!   resources, patterns and users (it includes what a Supervisor does).
//! - **Supervisor**: monitors and configures callbacks.
//! - **CallbackReadOnly**: sees the Callback panel, without creating, changing or cancelling.
//!
//! A user's service list holds service names or virtual service group names: a service is
//! visible when its name is listed, or one of its `_service_groups` is. An empty list allows
//! every service.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::store::Millis;

/// The longest user name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// The longest password accepted (Argon2 takes any length; this bounds the work a login costs).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A user's role, spelled as GMS spells it (`gms/roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Administrator,
    Supervisor,
    CallbackReadOnly,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [
        Role::Administrator,
        Role::Supervisor,
        Role::CallbackReadOnly,
    ];

    /// Reads a role in any letter case (`supervisor`, `Supervisor`, `SUPERVISOR`).
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The GMS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Supervisor => "Supervisor",
            Role::CallbackReadOnly => "CallbackReadOnly",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request asks to do, as far as roles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read callbacks (the Callback panel, queries).
    ReadCallbacks,
    /// Create, reschedule or cancel callbacks.
    ChangeCallbacks,
    /// Read configuration and status (services, office hours, resources, node).
    ReadConfig,
    /// Use the other service APIs (storage, request-interaction, ...).
    UseServices,
    /// Change services, templates, resources, patterns, users, the node.
    Administer,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UserError {
    #[error("invalid user name {0:?}: {1}")]
    InvalidName(String, &'static str),
    #[error("unknown role {0:?} (one of Administrator, Supervisor, CallbackReadOnly)")]
    UnknownRole(String),
    #[error("the password is empty")]
    EmptyPassword,
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes")]
    PasswordTooLong,
    #[error("invalid service or group name {0:?}")]
    InvalidService(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// One user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Service names or virtual service group names; empty: every service.
    pub services: Vec<String>,
    /// Argon2id, PHC string form.
    pub password_hash: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    /// A new user with `password` hashed (a fresh random salt each time).
    pub fn new(
        name: &str,
        role: Role,
        services: &[String],
        password: &str,
        now: Millis,
    ) -> Result<User, UserError> {
        check_name(name)?;
        Ok(User {
            name: name.to_owned(),
            role,
            services: check_services(services)?,
            password_hash: hash_password(password)?,
            created_at: now,
            updated_at: now,
        })
    }

    /// Whether `password` is this user's. Constant-time in the password (Argon2 compares
    /// digests); a malformed stored hash verifies nothing.
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        PasswordHash::new(&self.password_hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// This user with a new role, service list or password (each left as it is when `None`).
    pub fn changed(
        &self,
        role: Option<Role>,
        services: Option<&[String]>,
        password: Option<&str>,
        now: Millis,
    ) -> Result<User, UserError> {
        Ok(User {
            name: self.name.clone(),
            role: role.unwrap_or(self.role),
            services: match services {
                Some(s) => check_services(s)?,
                None => self.services.clone(),
            },
            password_hash: match password {
                Some(p) => hash_password(p)?,
                None => self.password_hash.clone(),
            },
            created_at: self.created_at,
            // Always later than before, so a directory drops what it verified of the old record.
            updated_at: now.max(self.updated_at + 1),
        })
    }

    /// Whether the user may see the service `name` whose `_service_groups` are `groups`.
    pub fn may_see(&self, name: &str, groups: &[&str]) -> bool {
        self.services.is_empty()
            || self
                .services
                .iter()
                .any(|s| s == name || groups.iter().any(|g| g == s))
    }

    /// Whether the user's role allows `action`.
    pub fn may(&self, action: Action) -> bool {
        match self.role {
            Role::Administrator => true,
            Role::Supervisor => action != Action::Administer,
            Role::CallbackReadOnly => action == Action::ReadCallbacks,
        }
    }
}

/// Why a change to the users is refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ChangeError {
    #[error("a new user needs a role and a password ('{0}' does not exist)")]
    NewNeedsRoleAndPassword(String),
    #[error("{0} is the last Administrator: make another one first")]
    LastAdministrator(String),
    #[error("no user '{0}'")]
    NotFound(String),
}

/// Whether `name` may be given `role` (or added, when it is not in `users`): a new user needs
/// a role and a password, and the last Administrator keeps its role. Returns the user as it
/// is now, if any.
pub fn check_put<'a>(
    users: &'a [User],
    name: &str,
    role: Option<Role>,
    has_password: bool,
) -> Result<Option<&'a User>, ChangeError> {
    let existing = users.iter().find(|u| u.name == name);
    match existing {
        None if role.is_none() || !has_password => {
            Err(ChangeError::NewNeedsRoleAndPassword(name.to_owned()))
        }
        Some(u)
            if u.role == Role::Administrator
                && role.is_some_and(|r| r != Role::Administrator)
                && administrators(users) == 1 =>
        {
            Err(ChangeError::LastAdministrator(name.to_owned()))
        }
        _ => Ok(existing),
    }
}

/// Whether `name` may be removed: it exists and is not the last Administrator.
pub fn check_remove(users: &[User], name: &str) -> Result<(), ChangeError> {
    let user = users
        .iter()
        .find(|u| u.name == name)
        .ok_or_else(|| ChangeError::NotFound(name.to_owned()))?;
    if user.role == Role::Administrator && administrators(users) == 1 {
        return Err(ChangeError::LastAdministrator(name.to_owned()));
    }
    Ok(())
}

fn administrators(users: &[User]) -> usize {
    users
        .iter()
        .filter(|u| u.role == Role::Administrator)
        .count()
}

/// The names of a service's `_service_groups` option (comma-separated, quotes allowed as
/// the help writes them: `'support'`).
pub fn service_groups(option: &str) -> Vec<&str> {
    option
        .split(',')
        .map(|g| g.trim().trim_matches(|c| c == '\'' || c == '"').trim())
        .filter(|g| !g.is_empty())
        .collect()
}

/// A user name: 1 to [`MAX_NAME_LEN`] bytes, no colon (HTTP Basic splits on the first one),
/// no control characters, no space at either end.
pub fn check_name(name: &str) -> Result<(), UserError> {
    let bad = |why| Err(UserError::InvalidName(name.to_owned(), why));
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 64 bytes");
    }
    if name.contains(':') {
        return bad("it holds a colon");
    }
    if name.chars().any(char::is_control) {
        return bad("it holds a control character");
    }
    if name.trim() != name {
        return bad("it starts or ends with a space");
    }
    Ok(())
}

/// Service and group names, trimmed (quotes as the help writes them dropped), empty ones
/// left out; one with a comma or control character is refused.
fn check_services(services: &[String]) -> Result<Vec<String>, UserError> {
    let mut out: Vec<String> = Vec::new();
    for s in services {
        let t = s.trim().trim_matches(|c| c == '\'' || c == '"').trim();
        if t.is_empty() {
            continue;
        }
        if t.contains(',') || t.chars().any(char::is_control) {
            return Err(UserError::InvalidService(s.clone()));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

/// Hashes a password with Argon2id (the crate's default parameters, a random 16-byte salt).
pub fn hash_password(password: &str) -> Result<String, UserError> {
    if password.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(UserError::PasswordTooLong);
    }
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| UserError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// Failed logins allowed per user name and client within [`FAILURE_WINDOW_MS`]; past that the
/// pair is refused, even with the right password, until the window has passed.
pub const MAX_FAILURES: u32 = 5;

/// The window failed logins are counted over.
pub const FAILURE_WINDOW_MS: Millis = 5 * 60_000;

/// Why a login or a Basic-authenticated request was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// An unknown name and a wrong password answer alike (nothing tells which).
    #[error("invalid username or password")]
    Invalid,
    #[error("too many failed logins; try again in {0} s")]
    Throttled(u64),
}

/// The users as the server checks them: Argon2 verifies a password once, then a keyed digest of
/// it (the key random per process, kept only in memory) answers until the user's record
/// changes, so an API client sending HTTP Basic on every request costs one Argon2 verification,
/// not one per request. Sans-IO: time is passed in, the caller reloads users from the store.
#[derive(Debug)]
pub struct Directory {
    users: std::collections::HashMap<String, User>,
    verified: std::collections::HashMap<String, (Millis, [u8; 32])>,
    key: [u8; 32],
    failures: std::collections::HashMap<(String, String), (u32, Millis)>,
}

impl Directory {
    pub fn new(users: Vec<User>) -> Directory {
        let mut d = Directory {
            users: Default::default(),
            verified: Default::default(),
            key: rand::random(),
            failures: Default::default(),
        };
        d.replace(users);
        d
    }

    /// Takes the users as stored now; a changed or removed user's verified password is dropped.
    pub fn replace(&mut self, users: Vec<User>) {
        self.users = users.into_iter().map(|u| (u.name.clone(), u)).collect();
        let users = &self.users;
        self.verified.retain(|name, (updated_at, _)| {
            users.get(name).is_some_and(|u| u.updated_at == *updated_at)
        });
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<&User> {
        let mut all: Vec<&User> = self.users.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// What it takes to check `name` and `password` from `client` (its address) at `now`,
    /// without Argon2: then [`Check::verify`] (off a request thread), then
    /// [`Directory::settle`].
    pub fn check(&self, name: &str, password: &str, client: &str, now: Millis) -> Check {
        if let Some((count, since)) = self.failures.get(&(name.to_owned(), client.to_owned())) {
            let until = since + FAILURE_WINDOW_MS;
            if *count >= MAX_FAILURES && now < until {
                let secs = (until - now + 999) / 1000;
                return Check::Throttled(secs.max(1) as u64);
            }
        }
        match self.users.get(name) {
            None => Check::Unknown,
            Some(u) => match self.verified.get(name) {
                Some((at, d)) if *at == u.updated_at && same(d, &self.digest(name, password)) => {
                    Check::Known(u.clone())
                }
                _ => Check::Verify(u.clone()),
            },
        }
    }

    /// Records how a [`Check`] came out (`ok`: its verification passed) and answers for it.
    pub fn settle(
        &mut self,
        check: Check,
        name: &str,
        password: &str,
        client: &str,
        ok: bool,
        now: Millis,
    ) -> Result<User, AuthError> {
        let key = (name.to_owned(), client.to_owned());
        let user = match check {
            Check::Throttled(secs) => return Err(AuthError::Throttled(secs)),
            Check::Known(u) => Some(u),
            Check::Verify(u) if ok => {
                let digest = self.digest(name, password);
                self.verified
                    .insert(name.to_owned(), (u.updated_at, digest));
                Some(u)
            }
            Check::Verify(_) | Check::Unknown => None,
        };
        if let Some(u) = user {
            self.failures.remove(&key);
            return Ok(u);
        }
        if self.failures.len() >= 10_000 {
            self.failures
                .retain(|_, (_, since)| now < *since + FAILURE_WINDOW_MS);
        }
        let slot = self.failures.entry(key).or_insert((0, now));
        if now >= slot.1 + FAILURE_WINDOW_MS {
            *slot = (0, now);
        }
        slot.0 += 1;
        Err(AuthError::Invalid)
    }

    fn digest(&self, name: &str, password: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.key);
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }
}

/// A UI login ends after this long without a request.
pub const LOGIN_IDLE_MS: Millis = 30 * 60_000;

/// A UI login ends this long after it began, used or not.
pub const LOGIN_MAX_MS: Millis = 12 * 3_600_000;

/// One UI login: whose it is and the token its state-changing requests must echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    /// Sent back by the UI in `X-CSRF-Token` on every state-changing request.
    pub csrf: String,
    pub created_at: Millis,
    pub last_seen: Millis,
}

/// The UI's logins, by session token (kept as its SHA-256, never the token itself). A login
/// ends on logout, after [`LOGIN_IDLE_MS`] idle, [`LOGIN_MAX_MS`] after it began, or when its
/// user is removed. Sans-IO: time passed in.
#[derive(Debug, Default)]
pub struct Logins {
    by_token: std::collections::HashMap<[u8; 32], Login>,
}

impl Logins {
    pub fn new() -> Logins {
        Logins::default()
    }

    /// Opens a login for `user`; returns its session token and CSRF token (random, 256 bits,
    /// hex).
    pub fn open(&mut self, user: &str, now: Millis) -> (String, String) {
        self.prune(now);
        let token = random_hex();
        let csrf = random_hex();
        self.by_token.insert(
            token_key(&token),
            Login {
                user: user.to_owned(),
                csrf: csrf.clone(),
                created_at: now,
                last_seen: now,
            },
        );
        (token, csrf)
    }

    /// The login of `token` if it is still open at `now` (its idle time starts again).
    pub fn find(&mut self, token: &str, now: Millis) -> Option<&Login> {
        let key = token_key(token);
        let open = self.by_token.get(&key).is_some_and(|l| alive(l, now));
        if !open {
            self.by_token.remove(&key);
            return None;
        }
        let login = self.by_token.get_mut(&key)?;
        login.last_seen = now;
        Some(login)
    }

    /// Ends the login of `token` (logout); false when there was none.
    pub fn close(&mut self, token: &str) -> bool {
        self.by_token.remove(&token_key(token)).is_some()
    }

    /// Ends every login whose user is not in `users` any more.
    pub fn keep_users(&mut self, users: &Directory) {
        self.by_token.retain(|_, l| users.get(&l.user).is_some());
    }

    /// Forgets the logins that ended by `now`.
    pub fn prune(&mut self, now: Millis) {
        self.by_token.retain(|_, l| alive(l, now));
    }

    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

fn alive(l: &Login, now: Millis) -> bool {
    now < l.last_seen + LOGIN_IDLE_MS && now < l.created_at + LOGIN_MAX_MS
}

fn token_key(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

fn random_hex() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What checking a name and password needs (see [`Directory::check`]).
#[derive(Debug, Clone)]
pub enum Check {
    /// The password was verified before (its digest matched): no Argon2 needed.
    Known(User),
    /// Argon2 must verify the password against this user's hash.
    Verify(User),
    /// No such user.
    Unknown,
    /// Too many failures from this client for this name; seconds to wait.
    Throttled(u64),
}

impl Check {
    /// Runs what the check needs (Argon2 for `Verify`; for `Unknown`, a verification against
    /// a hash no one has, so that timing does not tell unknown names apart). Costly: call it
    /// off a request thread.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Check::Known(_) => true,
            Check::Verify(u) => u.verify(password),
            Check::Unknown => {
                let _ = dummy().verify(password);
                false
            }
            Check::Throttled(_) => false,
        }
    }
}

/// Compares without an early exit.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A user no one is, hashed once, for the unknown-name path of [`Directory::authenticate`].
fn dummy() -> &'static User {
    static DUMMY: std::sync::OnceLock<User> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| User {
        name: String::new(),
        role: Role::CallbackReadOnly,
        services: Vec::new(),
        password_hash: hash_password("no one's password").unwrap_or_default(),
        created_at: 0,
        updated_at: 0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Check, verify and settle in one go, as a server does across threads.
    fn authenticate(
        d: &mut Directory,
        name: &str,
        password: &str,
        client: &str,
        now: Millis,
    ) -> Result<User, AuthError> {
        let check = d.check(name, password, client, now);
        let ok = check.verify(password);
        d.settle(check, name, password, client, ok, now)
    }

    fn user(services: &[&str]) -> User {
        let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        User::new("ann", Role::Supervisor, &services, "s3cret", 1_000).unwrap()
    }

    #[test]
    fn roles_read_in_any_case_and_print_as_gms_spells_them() {
        assert_eq!(
            Role::parse("callbackreadonly"),
            Some(Role::CallbackReadOnly)
        );
        assert_eq!(Role::parse(" Administrator "), Some(Role::Administrator));
        assert_eq!(Role::parse("SUPERVISOR"), Some(Role::Supervisor));
        assert_eq!(Role::parse("agent"), None);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn a_password_is_kept_as_an_argon2id_hash_with_its_own_salt() {
        let a = user(&[]);
        let b = user(&[]);
        assert!(a.password_hash.starts_with("$argon2id$"));
        assert!(!a.password_hash.contains("s3cret"));
        assert_ne!(a.password_hash, b.password_hash, "a fresh salt per hash");
        assert!(a.verify("s3cret"));
        assert!(!a.verify("s3cret "));
        assert!(!a.verify(""));
        let broken = User {
            password_hash: "s3cret".into(),
            ..a
        };
        assert!(
            !broken.verify("s3cret"),
            "a malformed hash verifies nothing"
        );
    }

    #[test]
    fn names_and_passwords_are_checked() {
        for (name, ok) in [
            ("ann", true),
            ("ann.lee@example.com", true),
            ("", false),
            ("a:b", false),
            (" ann", false),
            ("ann\n", false),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(check_name(name).is_ok(), ok, "{name:?}");
        }
        assert_eq!(
            User::new("ann", Role::Supervisor, &[], "", 0).unwrap_err(),
            UserError::EmptyPassword
        );
        assert_eq!(
            User::new("ann", Role::Supervisor, &[], &"p".repeat(1025), 0).unwrap_err(),
            UserError::PasswordTooLong
        );
    }

    #[test]
    fn a_service_list_names_services_or_their_virtual_groups() {
        let all = user(&[]);
        assert!(all.may_see("callback-sales", &[]));
        let listed = user(&["callback-support", " 'support' ", "", "callback-support"]);
        assert_eq!(listed.services, ["callback-support", "support"]);
        assert!(listed.may_see("callback-support", &[]));
        assert!(listed.may_see("callback-blackfriday-support", &["support"]));
        assert!(!listed.may_see("callback-sales", &["sales"]));
        assert_eq!(
            User::new("a", Role::Supervisor, &["a,b".into()], "p", 0).unwrap_err(),
            UserError::InvalidService("a,b".into())
        );
        assert_eq!(service_groups("'support', vip ,,"), ["support", "vip"]);
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_always_moves_the_record_on() {
        let ann = user(&["a"]);
        let same = ann.changed(None, None, None, 0).unwrap();
        assert_eq!(
            same.updated_at,
            ann.updated_at + 1,
            "even with a clock behind"
        );
        assert_eq!(
            (same.role, &same.services, &same.password_hash),
            (ann.role, &ann.services, &ann.password_hash)
        );
        let other = ann
            .changed(Some(Role::CallbackReadOnly), Some(&[]), Some("new"), 5_000)
            .unwrap();
        assert_eq!(
            (other.role, other.services.len(), other.updated_at),
            (Role::CallbackReadOnly, 0, 5_000)
        );
        assert!(other.verify("new") && !other.verify("s3cret"));
        assert_eq!(other.created_at, ann.created_at);
        assert_eq!(
            ann.changed(None, None, Some(""), 0).unwrap_err(),
            UserError::EmptyPassword
        );
    }

    #[test]
    fn the_last_administrator_stays_and_a_new_user_needs_a_role_and_a_password() {
        let ann = User {
            role: Role::Administrator,
            ..user(&[])
        };
        let bob = User {
            name: "bob".into(),
            ..user(&[])
        };
        let users = [ann.clone(), bob.clone()];
        let last = ChangeError::LastAdministrator("ann".into());
        assert_eq!(
            check_put(&users, "ann", Some(Role::Supervisor), false),
            Err(last.clone())
        );
        assert_eq!(check_remove(&users, "ann"), Err(last));
        assert_eq!(check_put(&users, "ann", None, true), Ok(Some(&ann)));
        assert_eq!(
            check_put(&users, "bob", Some(Role::CallbackReadOnly), false),
            Ok(Some(&bob))
        );
        assert_eq!(check_remove(&users, "bob"), Ok(()));
        assert_eq!(
            check_put(&users, "cy", Some(Role::Supervisor), false),
            Err(ChangeError::NewNeedsRoleAndPassword("cy".into()))
        );
        assert_eq!(
            check_put(&users, "cy", None, true),
            Err(ChangeError::NewNeedsRoleAndPassword("cy".into()))
        );
        assert_eq!(
            check_put(&users, "cy", Some(Role::Supervisor), true),
            Ok(None)
        );
        assert_eq!(
            check_remove(&users, "cy"),
            Err(ChangeError::NotFound("cy".into()))
        );
        // With a second Administrator, either may go.
        let al = User {
            name: "al".into(),
            ..ann.clone()
        };
        let users = [ann, al, bob];
        assert_eq!(check_remove(&users, "ann"), Ok(()));
        assert!(check_put(&users, "al", Some(Role::Supervisor), false).is_ok());
    }

    #[test]
    fn what_each_role_may_do() {
        let mk = |role| User { role, ..user(&[]) };
        use Action::*;
        assert!(mk(Role::Administrator).may(Administer));
        assert!(!mk(Role::Supervisor).may(Administer));
        assert!(mk(Role::Supervisor).may(ChangeCallbacks));
        assert!(!mk(Role::CallbackReadOnly).may(ChangeCallbacks));
        assert!(!mk(Role::CallbackReadOnly).may(Administer));
        let all = [
            ReadCallbacks,
            ChangeCallbacks,
            ReadConfig,
            UseServices,
            Administer,
        ];
        let allowed = |role| {
            all.into_iter()
                .filter(|a| mk(role).may(*a))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Administrator), all);
        assert_eq!(
            allowed(Role::Supervisor),
            [ReadCallbacks, ChangeCallbacks, ReadConfig, UseServices]
        );
        assert_eq!(allowed(Role::CallbackReadOnly), [ReadCallbacks]);
    }

    #[test]
    fn the_directory_verifies_once_then_answers_from_its_digest_until_the_user_changes() {
        let ann = User::new("ann", Role::Administrator, &[], "pw-ann", 1).unwrap();
        let mut d = Directory::new(vec![ann.clone()]);
        assert_eq!(
            authenticate(&mut d, "ann", "pw-ann", "ip", 10)
                .unwrap()
                .name,
            "ann"
        );
        assert!(d.verified.contains_key("ann"));
        // The digest answers; a wrong password still fails.
        assert!(authenticate(&mut d, "ann", "pw-ann", "ip", 11).is_ok());
        assert_eq!(
            authenticate(&mut d, "ann", "pw-bob", "ip", 12).unwrap_err(),
            AuthError::Invalid
        );
        assert_eq!(
            authenticate(&mut d, "nobody", "pw-ann", "ip", 12).unwrap_err(),
            AuthError::Invalid
        );
        // A new password (a changed record) drops the digest of the old one.
        let changed = User {
            password_hash: hash_password("pw-new").unwrap(),
            updated_at: 2,
            ..ann
        };
        d.replace(vec![changed]);
        assert!(d.verified.is_empty());
        assert!(authenticate(&mut d, "ann", "pw-ann", "ip", 13).is_err());
        assert!(authenticate(&mut d, "ann", "pw-new", "ip", 14).is_ok());
        d.replace(vec![]);
        assert!(d.is_empty() && authenticate(&mut d, "ann", "pw-new", "ip", 15).is_err());
    }

    #[test]
    fn repeated_failures_lock_a_name_and_client_pair_for_the_window() {
        let ann = User::new("ann", Role::Supervisor, &[], "pw", 1).unwrap();
        let mut d = Directory::new(vec![ann]);
        for i in 0..MAX_FAILURES as i64 {
            assert_eq!(
                authenticate(&mut d, "ann", "no", "a", i).unwrap_err(),
                AuthError::Invalid
            );
        }
        // Locked for this client, even with the right password; another client is not.
        assert_eq!(
            authenticate(&mut d, "ann", "pw", "a", 1_000).unwrap_err(),
            AuthError::Throttled(299)
        );
        assert!(authenticate(&mut d, "ann", "pw", "b", 1_000).is_ok());
        // After the window the pair may try again, and a success clears its count.
        assert!(authenticate(&mut d, "ann", "pw", "a", FAILURE_WINDOW_MS).is_ok());
        assert!(!d.failures.contains_key(&("ann".into(), "a".into())));
    }

    #[test]
    fn logins_end_on_logout_when_idle_at_their_age_limit_or_with_their_user() {
        let mut logins = Logins::new();
        let (token, csrf) = logins.open("ann", 0);
        assert_eq!((token.len(), csrf.len()), (64, 64));
        assert_ne!(token, csrf);
        let l = logins.find(&token, 1_000).unwrap();
        assert_eq!((l.user.as_str(), l.csrf.as_str()), ("ann", csrf.as_str()));
        assert!(logins.find("not-a-token", 1_000).is_none());
        // Used within the idle time, it stays open; idle longer, it ends.
        assert!(logins.find(&token, LOGIN_IDLE_MS).is_some());
        assert!(logins.find(&token, 2 * LOGIN_IDLE_MS).is_none());
        assert!(logins.is_empty(), "an ended login is forgotten");
        // However busy, it ends at its age limit.
        let (token, _) = logins.open("ann", 0);
        let mut t = 0;
        while t + LOGIN_IDLE_MS / 2 < LOGIN_MAX_MS {
            t += LOGIN_IDLE_MS / 2;
            assert!(logins.find(&token, t).is_some());
        }
        assert!(logins.find(&token, LOGIN_MAX_MS).is_none());
        // Logout, and a removed user.
        let (a, _) = logins.open("ann", 0);
        let (b, _) = logins.open("bob", 0);
        assert!(logins.close(&a) && !logins.close(&a));
        let bob = User::new("bob", Role::Supervisor, &[], "pw", 0).unwrap();
        logins.keep_users(&Directory::new(vec![bob]));
        assert_eq!(logins.len(), 1);
        logins.keep_users(&Directory::new(vec![]));
        assert!(logins.find(&b, 1).is_none());
    }
}
