//! The session: connect, log in, renew, log out, and the generic call path
//! every method goes through.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::config::ConnectConfig;
use crate::error::{Error, Fault, FaultKind};
use crate::secret::Secret;
use crate::soap::Transport;
use crate::value::{DataObject, MoRef, Value};
use crate::xml::{Element, RequestWriter, decode_moref, decode_value};

/// A logged-in connection to a vCenter or ESXi host. Cheap to clone (shared).
///
/// Every call renews the session once and retries when the server answers
/// `NotAuthenticated` (expired or terminated session), unless
/// [`ConnectConfig::relogin`] is off. Objects a session owns (property
/// collectors, filters, views) die with it: [`UpdateWatch`](crate::UpdateWatch)
/// recreates its own; callers holding others compare
/// [`Client::session_generation`].
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    config: ConnectConfig,
    content: ServiceContent,
    login_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    session: Mutex<Option<UserSession>>,
}

/// The references and facts `RetrieveServiceContent` returns.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceContent {
    /// The inventory root folder.
    pub root_folder: MoRef,
    /// The default property collector.
    pub property_collector: MoRef,
    /// The view manager (container views); vCenter and ESXi have one.
    pub view_manager: Option<MoRef>,
    /// The session manager.
    pub session_manager: MoRef,
    /// The search index (`FindByUuid`).
    pub search_index: Option<MoRef>,
    /// The file manager.
    pub file_manager: Option<MoRef>,
    /// The virtual disk manager.
    pub virtual_disk_manager: Option<MoRef>,
    /// The task manager.
    pub task_manager: Option<MoRef>,
    /// The server settings (an `OptionManager`).
    pub setting: Option<MoRef>,
    /// The authorization manager (privileges).
    pub authorization_manager: Option<MoRef>,
    /// The product.
    pub about: About,
    /// Everything, as returned.
    pub raw: DataObject,
}

/// `ServiceContent.about`: what the server is.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct About {
    /// e.g. `VMware vCenter Server`.
    pub name: String,
    /// e.g. `VMware vCenter Server 8.0.2 build-22385739`.
    pub full_name: String,
    /// The product version, e.g. `8.0.2`.
    pub version: String,
    /// The build number.
    pub build: String,
    /// `VirtualCenter` or `HostAgent`.
    pub api_type: String,
    /// The API version, e.g. `8.0.2.0`.
    pub api_version: String,
    /// The vCenter's instance UUID (empty on ESXi).
    pub instance_uuid: String,
    /// The licensed product name (Forklift's `About.product`).
    pub license_product_name: String,
    /// `vpx` (vCenter) or `embeddedEsx`.
    pub product_line_id: String,
}

impl About {
    /// Whether the server is a vCenter (rather than an ESXi host).
    pub fn is_vcenter(&self) -> bool {
        self.api_type == "VirtualCenter"
    }
}

/// The logged-in session (`UserSession`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    /// The session key (what `TerminateSession` takes).
    pub key: Secret,
    /// The user name.
    pub user_name: String,
    /// The user's full name.
    pub full_name: String,
    /// When the session was created.
    pub login_time: String,
}

impl UserSession {
    fn from_value(value: &Value) -> Self {
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Self {
            key: Secret::new(text("key")),
            user_name: text("userName"),
            full_name: text("fullName"),
            login_time: text("loginTime"),
        }
    }
}

/// Whether a call renews the session on `NotAuthenticated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Renew {
    /// Renew and send the call again once.
    Retry,
    /// Renew, then return the `NotAuthenticated` error (the call's objects
    /// died with the old session).
    Only,
    /// Never (login itself).
    Never,
}

impl Client {
    /// Connects: reads the service content, then logs in with the configured
    /// credentials.
    ///
    /// Errors: [`Error::InvalidConfig`], [`Error::Connect`], [`Error::Tls`],
    /// [`Error::Timeout`], [`Error::Http`] for a server that cannot be reached
    /// or trusted; a fault `InvalidLogin` for refused credentials.
    pub async fn connect(config: ConnectConfig) -> Result<Client, Error> {
        let client = Self::unauthenticated(config).await?;
        client.login().await?;
        Ok(client)
    }

    /// Connects without logging in: enough to read [`Client::about`] and
    /// [`Client::server_fingerprint`], or to test the connection.
    pub async fn unauthenticated(config: ConnectConfig) -> Result<Client, Error> {
        let transport = Transport::new(&config)?;
        let body = RequestWriter::new(
            "RetrieveServiceContent",
            &MoRef::new("ServiceInstance", "ServiceInstance"),
        )
        .finish()?;
        let response = transport
            .call("RetrieveServiceContent", body, config.timeouts.call)
            .await?;
        let content = ServiceContent::decode(response)?;
        if !content.about.api_version.is_empty() {
            transport.set_api_version(&content.about.api_version);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                config,
                content,
                login_lock: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
                session: Mutex::new(None),
            }),
        })
    }

    /// The service content read at connect time.
    pub fn content(&self) -> &ServiceContent {
        &self.inner.content
    }

    /// What the server is.
    pub fn about(&self) -> &About {
        &self.inner.content.about
    }

    /// The settings this client was made with.
    pub fn config(&self) -> &ConnectConfig {
        &self.inner.config
    }

    /// The SHA-1 fingerprint (`AB:CD:…`) of the certificate the server
    /// presented, for the provider's `status.fingerprint`. `None` over plain
    /// HTTP.
    pub fn server_fingerprint(&self) -> Option<String> {
        self.inner.transport.fingerprint()
    }

    /// How many SOAP calls of each method this client has sent (including
    /// retries and logins).
    pub fn call_stats(&self) -> BTreeMap<String, u64> {
        self.inner.transport.stats()
    }

    /// The current session, if logged in.
    pub fn session(&self) -> Option<UserSession> {
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Incremented at every successful login: a change means objects owned by
    /// the previous session (collectors, filters, views) are gone.
    pub fn session_generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Logs in (again) with the configured credentials.
    pub async fn login(&self) -> Result<(), Error> {
        let _guard = self.inner.login_lock.lock().await;
        self.login_locked().await
    }

    async fn login_locked(&self) -> Result<(), Error> {
        self.inner.transport.clear_cookie();
        let mut request = RequestWriter::new("Login", &self.inner.content.session_manager);
        request.text("userName", &self.inner.config.user);
        request.text("password", self.inner.config.password.expose());
        let body = request.finish()?;
        let response = self
            .inner
            .transport
            .call("Login", body, self.inner.config.timeouts.call)
            .await?;
        let value = returnval(response, "Login")?.ok_or_else(|| Error::Protocol {
            method: "Login".into(),
            message: "no UserSession returned".into(),
        })?;
        if self.inner.transport.cookie().is_none() {
            return Err(Error::Protocol {
                method: "Login".into(),
                message: "the server set no vmware_soap_session cookie".into(),
            });
        }
        *self
            .inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(UserSession::from_value(&value));
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(url = %self.inner.transport.display_url, "vim25 login");
        Ok(())
    }

    /// Logs in again unless another task already did since `seen_generation`.
    pub(crate) async fn renew_session(&self, seen_generation: u64) -> Result<(), Error> {
        let _guard = self.inner.login_lock.lock().await;
        if self.session_generation() != seen_generation {
            return Ok(());
        }
        tracing::info!(url = %self.inner.transport.display_url, "vim25 session expired; logging in again");
        self.login_locked().await
    }

    /// Logs out. The client can log in again with [`Client::login`].
    pub async fn logout(&self) -> Result<(), Error> {
        let _guard = self.inner.login_lock.lock().await;
        let body = RequestWriter::new("Logout", &self.inner.content.session_manager).finish()?;
        let result = self
            .inner
            .transport
            .call("Logout", body, self.inner.config.timeouts.call)
            .await;
        self.inner.transport.clear_cookie();
        *self
            .inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        match result {
            Ok(_) => Ok(()),
            // Already gone: the goal is reached.
            Err(e) if e.fault_kind() == Some(FaultKind::NotAuthenticated) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Keeps the session alive with a cheap read of
    /// `SessionManager.currentSession`, logging in again if it has expired.
    pub async fn keep_alive(&self) -> Result<(), Error> {
        let generation = self.session_generation();
        let session_manager = self.inner.content.session_manager.clone();
        let current = self
            .retrieve_one(&session_manager, &["currentSession"])
            .await?;
        let alive = current
            .as_ref()
            .and_then(|o| o.get("currentSession"))
            .is_some();
        if alive {
            return Ok(());
        }
        if !self.inner.config.relogin {
            return Err(Error::Fault {
                method: "keep-alive".into(),
                fault: Box::new(Fault {
                    name: "NotAuthenticated".into(),
                    message: "the session has expired or was terminated".into(),
                    detail: DataObject::default(),
                }),
            });
        }
        self.renew_session(generation).await
    }

    /// Runs [`Client::keep_alive`] every `every` until the returned handle is
    /// dropped. Failures are logged (without secrets) and retried next time.
    pub fn spawn_keep_alive(&self, every: Duration) -> KeepAlive {
        let client = self.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(error) = client.keep_alive().await {
                    tracing::warn!(%error, "vim25 keep-alive failed");
                }
            }
        });
        KeepAlive { task }
    }

    /// Calls any vim25 method: `args` are written in order (arrays as repeated
    /// elements, data objects with their `xsi:type`), and the `returnval`
    /// elements come back decoded (none for a void method, several for an
    /// array result).
    pub async fn invoke(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
    ) -> Result<Vec<Value>, Error> {
        let mut request = RequestWriter::new(method, this);
        for (name, value) in args {
            request.value(name, value);
        }
        let body = request.finish()?;
        let response = self.send(method, body, None, Renew::Retry).await?;
        returnvals(response, method)
    }

    /// Calls a method that returns a task and gives the task reference.
    pub(crate) async fn invoke_task(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
    ) -> Result<MoRef, Error> {
        let values = self.invoke(method, this, args).await?;
        match values.into_iter().next() {
            Some(Value::MoRef(task)) => Ok(task),
            _ => Err(Error::Protocol {
                method: method.to_owned(),
                message: "no task reference returned".into(),
            }),
        }
    }

    /// Sends a prepared request, renewing the session as `renew` says.
    pub(crate) async fn send(
        &self,
        method: &str,
        body: String,
        timeout: Option<Duration>,
        renew: Renew,
    ) -> Result<Element, Error> {
        let timeout = timeout.unwrap_or(self.inner.config.timeouts.call);
        let generation = self.session_generation();
        let retry_body = (renew == Renew::Retry && self.inner.config.relogin).then(|| body.clone());
        let result = self.inner.transport.call(method, body, timeout).await;
        match result {
            Err(error)
                if renew != Renew::Never
                    && self.inner.config.relogin
                    && error.fault_kind() == Some(FaultKind::NotAuthenticated) =>
            {
                self.renew_session(generation).await?;
                match retry_body {
                    Some(body) => self.inner.transport.call(method, body, timeout).await,
                    None => Err(error),
                }
            }
            other => other,
        }
    }

    /// The transport, for the datastore file access.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
}

/// Keeps a session alive while held (see [`Client::spawn_keep_alive`]).
#[derive(Debug)]
pub struct KeepAlive {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// All `returnval` elements of a response, decoded.
pub(crate) fn returnvals(response: Element, method: &str) -> Result<Vec<Value>, Error> {
    response
        .children
        .into_iter()
        .filter(|c| &*c.name == "returnval")
        .map(|c| {
            decode_value(c).map_err(|source| Error::Xml {
                method: method.to_owned(),
                source,
            })
        })
        .collect()
}

/// The single `returnval` of a response, decoded.
pub(crate) fn returnval(response: Element, method: &str) -> Result<Option<Value>, Error> {
    Ok(returnvals(response, method)?.into_iter().next())
}

/// The `returnval` element itself, for typed decoding.
pub(crate) fn returnval_element(mut response: Element) -> Option<Element> {
    response.take_child("returnval")
}

impl ServiceContent {
    fn decode(response: Element) -> Result<Self, Error> {
        let method = "RetrieveServiceContent";
        let protocol = |message: String| Error::Protocol {
            method: method.into(),
            message,
        };
        let element = returnval_element(response).ok_or_else(|| protocol("no returnval".into()))?;
        let moref = |name: &str| -> Option<MoRef> {
            element
                .child(name)
                .and_then(|e| decode_moref(e.clone()).ok())
        };
        let required = |name: &str| moref(name).ok_or_else(|| protocol(format!("no {name}")));
        let root_folder = required("rootFolder")?;
        let property_collector = required("propertyCollector")?;
        let session_manager = required("sessionManager")?;
        let about_text = |field: &str| {
            element
                .child("about")
                .and_then(|a| a.child_text(field))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let about = About {
            name: about_text("name"),
            full_name: about_text("fullName"),
            version: about_text("version"),
            build: about_text("build"),
            api_type: about_text("apiType"),
            api_version: about_text("apiVersion"),
            instance_uuid: about_text("instanceUuid"),
            license_product_name: about_text("licenseProductName"),
            product_line_id: about_text("productLineId"),
        };
        let content = ServiceContent {
            view_manager: moref("viewManager"),
            search_index: moref("searchIndex"),
            file_manager: moref("fileManager"),
            virtual_disk_manager: moref("virtualDiskManager"),
            task_manager: moref("taskManager"),
            setting: moref("setting"),
            authorization_manager: moref("authorizationManager"),
            root_folder,
            property_collector,
            session_manager,
            about,
            raw: DataObject::default(),
        };
        let raw = match decode_value(element).map_err(|source| Error::Xml {
            method: method.into(),
            source,
        })? {
            Value::Object(object) => object,
            _ => DataObject::default(),
        };
        Ok(ServiceContent { raw, ..content })
    }
}
