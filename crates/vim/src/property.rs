//! The PropertyCollector: filter specs, paged retrieval, filters, update sets,
//! and container views.

use std::time::Duration;

use crate::client::{Client, Renew, returnval_element, returnvals};
use crate::error::{Error, Fault};
use crate::value::{MoRef, Value};
use crate::xml::{Element, RequestWriter, decode_localized_fault, decode_moref, decode_value};

/// Which objects to visit and which properties to read (`PropertyFilterSpec`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PropertyFilterSpec {
    /// Properties per object type.
    pub prop_set: Vec<PropertySpec>,
    /// Where to start and how to traverse.
    pub object_set: Vec<ObjectSpec>,
    /// Report objects that vanished in `missingSet` instead of failing.
    pub report_missing_objects: bool,
}

/// The properties to read from objects of one type (`PropertySpec`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PropertySpec {
    /// The managed object type, e.g. `VirtualMachine` (ancestors match too:
    /// `ComputeResource` covers clusters).
    pub kind: String,
    /// Read every property (expensive; prefer paths).
    pub all: bool,
    /// Property paths, e.g. `config.hardware.device`.
    pub paths: Vec<String>,
}

impl PropertySpec {
    /// The given paths of objects of type `kind`.
    pub fn new(kind: impl Into<String>, paths: &[&str]) -> Self {
        Self {
            kind: kind.into(),
            all: false,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

/// A starting object and the traversal from it (`ObjectSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSpec {
    /// The starting object.
    pub obj: MoRef,
    /// Do not report the starting object itself.
    pub skip: bool,
    /// Traversals from it.
    pub select_set: Vec<SelectionSpec>,
}

impl ObjectSpec {
    /// Just this object.
    pub fn new(obj: MoRef) -> Self {
        Self {
            obj,
            skip: false,
            select_set: Vec::new(),
        }
    }
}

/// A traversal step: a full spec, or a reference to a named one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectionSpec {
    /// A `TraversalSpec`.
    Traversal(TraversalSpec),
    /// A `SelectionSpec` naming a `TraversalSpec` (for recursion).
    Named(String),
}

/// Follow property `path` of objects of type `kind` (`TraversalSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraversalSpec {
    /// The name other specs refer to it by.
    pub name: Option<String>,
    /// The type whose property is followed.
    pub kind: String,
    /// The property holding references (e.g. `childEntity`, `view`).
    pub path: String,
    /// Do not report the objects reached, only traverse them.
    pub skip: bool,
    /// Further steps from the objects reached.
    pub select_set: Vec<SelectionSpec>,
}

impl TraversalSpec {
    /// Follow `kind.path`, reporting what it reaches.
    pub fn new(kind: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: None,
            kind: kind.into(),
            path: path.into(),
            skip: false,
            select_set: Vec::new(),
        }
    }

    /// Names the spec, so a [`SelectionSpec::Named`] can refer to it.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds further steps.
    pub fn select(mut self, specs: Vec<SelectionSpec>) -> Self {
        self.select_set = specs;
        self
    }
}

impl PropertyFilterSpec {
    /// Every object a container view holds, with these property specs.
    pub fn for_view(view: MoRef, prop_set: Vec<PropertySpec>) -> Self {
        Self {
            prop_set,
            object_set: vec![ObjectSpec {
                obj: view,
                skip: true,
                select_set: vec![SelectionSpec::Traversal(TraversalSpec::new(
                    "ContainerView",
                    "view",
                ))],
            }],
            report_missing_objects: false,
        }
    }

    /// These properties of these objects.
    pub fn for_objects(objects: &[MoRef], prop_set: Vec<PropertySpec>) -> Self {
        Self {
            prop_set,
            object_set: objects.iter().cloned().map(ObjectSpec::new).collect(),
            report_missing_objects: false,
        }
    }

    pub(crate) fn write(&self, w: &mut RequestWriter, name: &str) {
        w.start(name);
        for p in &self.prop_set {
            w.start("propSet");
            w.text("type", &p.kind);
            if p.all {
                w.bool("all", true);
            }
            for path in &p.paths {
                w.text("pathSet", path);
            }
            w.end("propSet");
        }
        for o in &self.object_set {
            w.start("objectSet");
            w.moref("obj", &o.obj);
            if o.skip {
                w.bool("skip", true);
            }
            for s in &o.select_set {
                write_selection(w, s);
            }
            w.end("objectSet");
        }
        if self.report_missing_objects {
            w.bool("reportMissingObjectsInResults", true);
        }
        w.end(name);
    }
}

fn write_selection(w: &mut RequestWriter, spec: &SelectionSpec) {
    match spec {
        SelectionSpec::Named(name) => {
            w.start("selectSet");
            w.text("name", name);
            w.end("selectSet");
        }
        SelectionSpec::Traversal(t) => {
            w.start_typed("selectSet", "TraversalSpec");
            if let Some(name) = &t.name {
                w.text("name", name);
            }
            w.text("type", &t.kind);
            w.text("path", &t.path);
            w.bool("skip", t.skip);
            for s in &t.select_set {
                write_selection(w, s);
            }
            w.end("selectSet");
        }
    }
}

/// One object's retrieved properties (`ObjectContent`).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectContent {
    /// The object.
    pub obj: MoRef,
    /// The properties that have a value, in the server's order. Unset
    /// properties are absent.
    pub props: Vec<(String, Value)>,
    /// Properties that could not be read (e.g. an invalid path).
    pub missing: Vec<MissingProperty>,
}

impl ObjectContent {
    /// The value of property `path`, if set.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.props.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }
}

/// A property that could not be read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingProperty {
    /// The property path.
    pub path: String,
    /// The fault.
    pub fault: Fault,
}

/// One page of `RetrievePropertiesEx` results.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RetrievePage {
    /// The objects of this page.
    pub objects: Vec<ObjectContent>,
    /// The token for the next page (`ContinueRetrievePropertiesEx`), if any.
    pub token: Option<String>,
}

/// Options of `WaitForUpdatesEx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Return after this many seconds without changes (`Ok(None)`); `Some(0)`
    /// checks once. `None` waits for a change, but the HTTP request is still
    /// bounded by an hour.
    pub max_wait_seconds: Option<u32>,
    /// At most this many object updates per answer (the server may send
    /// fewer and set `truncated`).
    pub max_object_updates: Option<u32>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            max_wait_seconds: Some(30),
            max_object_updates: None,
        }
    }
}

/// One answer of `WaitForUpdatesEx` (`UpdateSet`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateSet {
    /// The version to pass to the next wait.
    pub version: String,
    /// Updates per filter.
    pub filters: Vec<FilterUpdate>,
    /// More updates of the same version follow: the state is consistent only
    /// after an answer with `truncated == false`.
    pub truncated: bool,
}

impl UpdateSet {
    /// Every object update of every filter, in order.
    pub fn object_updates(&self) -> impl Iterator<Item = &ObjectUpdate> {
        self.filters.iter().flat_map(|f| f.objects.iter())
    }
}

/// The updates of one filter (`PropertyFilterUpdate`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FilterUpdate {
    /// The filter.
    pub filter: MoRef,
    /// The object updates.
    pub objects: Vec<ObjectUpdate>,
    /// Objects of the filter spec that do not exist (with
    /// `report_missing_objects`).
    pub missing_objects: Vec<(MoRef, Fault)>,
}

/// How an object changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateKind {
    /// It entered the filter's set (created, or first seen).
    Enter,
    /// Some of its properties changed.
    Modify,
    /// It left the set (destroyed or moved out).
    Leave,
}

/// One object's update (`ObjectUpdate`).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectUpdate {
    /// Enter, modify or leave.
    pub kind: UpdateKind,
    /// The object.
    pub obj: MoRef,
    /// The property changes (all the filter's properties on enter).
    pub changes: Vec<PropertyChange>,
    /// Properties that could not be read.
    pub missing: Vec<MissingProperty>,
}

/// What a change does to a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    /// A value was added to a collection (`name` is indexed, e.g. `device[4000]`).
    Add,
    /// A value was removed from a collection.
    Remove,
    /// The property has a new value (`None`: it is now unset).
    Assign,
    /// A referenced object was deleted.
    IndirectRemove,
}

/// One property change (`PropertyChange`).
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyChange {
    /// The property path (possibly indexed).
    pub name: String,
    /// What happened.
    pub op: ChangeOp,
    /// The new value; `None` for an unset property or a removal.
    pub value: Option<Value>,
}

impl Client {
    /// `RetrievePropertiesEx` on the default collector: the first page of at
    /// most `max_objects` objects (server default when `None`).
    pub async fn retrieve_properties(
        &self,
        spec: &PropertyFilterSpec,
        max_objects: Option<u32>,
    ) -> Result<RetrievePage, Error> {
        let method = "RetrievePropertiesEx";
        let mut w = RequestWriter::new(method, &self.content().property_collector);
        spec.write(&mut w, "specSet");
        w.start("options");
        if let Some(max) = max_objects {
            w.int("maxObjects", i64::from(max));
        }
        w.end("options");
        let response = self.send(method, w.finish()?, None, Renew::Retry).await?;
        match returnval_element(response) {
            Some(element) => decode_page(element, method),
            None => Ok(RetrievePage::default()),
        }
    }

    /// `ContinueRetrievePropertiesEx`: the page after `token`.
    pub async fn continue_retrieve(&self, token: &str) -> Result<RetrievePage, Error> {
        let method = "ContinueRetrievePropertiesEx";
        let mut w = RequestWriter::new(method, &self.content().property_collector);
        w.text("token", token);
        let response = self.send(method, w.finish()?, None, Renew::Only).await?;
        match returnval_element(response) {
            Some(element) => decode_page(element, method),
            None => Ok(RetrievePage::default()),
        }
    }

    /// `CancelRetrievePropertiesEx`: drops the rest of a paged result.
    pub async fn cancel_retrieve(&self, token: &str) -> Result<(), Error> {
        let method = "CancelRetrievePropertiesEx";
        let mut w = RequestWriter::new(method, &self.content().property_collector);
        w.text("token", token);
        self.send(method, w.finish()?, None, Renew::Only).await?;
        Ok(())
    }

    /// Iterates over the pages of a retrieval, `page_size` objects at a time,
    /// so a huge inventory is never one response.
    pub fn retrieve_pages(&self, spec: PropertyFilterSpec, page_size: u32) -> RetrievePager {
        RetrievePager {
            client: self.clone(),
            state: PagerState::Start(spec),
            page_size,
        }
    }

    /// Every object of a retrieval, read in pages of `page_size`.
    pub async fn retrieve_all(
        &self,
        spec: &PropertyFilterSpec,
        page_size: u32,
    ) -> Result<Vec<ObjectContent>, Error> {
        let mut pager = self.retrieve_pages(spec.clone(), page_size);
        let mut all = Vec::new();
        while let Some(page) = pager.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// The given properties of one object; `None` if none is set.
    pub async fn retrieve_one(
        &self,
        obj: &MoRef,
        paths: &[&str],
    ) -> Result<Option<ObjectContent>, Error> {
        let spec = PropertyFilterSpec::for_objects(
            std::slice::from_ref(obj),
            vec![PropertySpec::new(obj.kind.clone(), paths)],
        );
        let page = self.retrieve_properties(&spec, None).await?;
        Ok(page.objects.into_iter().next())
    }

    /// `CreatePropertyCollector`: a private collector (its filters and waits
    /// do not disturb others). It belongs to the session.
    pub async fn create_property_collector(&self) -> Result<MoRef, Error> {
        let method = "CreatePropertyCollector";
        let body = RequestWriter::new(method, &self.content().property_collector).finish()?;
        let response = self.send(method, body, None, Renew::Retry).await?;
        single_moref(response, method)
    }

    /// `DestroyPropertyCollector`.
    pub async fn destroy_property_collector(&self, collector: &MoRef) -> Result<(), Error> {
        let method = "DestroyPropertyCollector";
        let body = RequestWriter::new(method, collector).finish()?;
        self.send(method, body, None, Renew::Only).await?;
        Ok(())
    }

    /// `CreateFilter` on `collector`; `partial_updates` reports only changed
    /// nested properties.
    pub async fn create_filter(
        &self,
        collector: &MoRef,
        spec: &PropertyFilterSpec,
        partial_updates: bool,
    ) -> Result<MoRef, Error> {
        let method = "CreateFilter";
        let mut w = RequestWriter::new(method, collector);
        spec.write(&mut w, "spec");
        w.bool("partialUpdates", partial_updates);
        let response = self.send(method, w.finish()?, None, Renew::Only).await?;
        single_moref(response, method)
    }

    /// `DestroyPropertyFilter`.
    pub async fn destroy_property_filter(&self, filter: &MoRef) -> Result<(), Error> {
        let method = "DestroyPropertyFilter";
        let body = RequestWriter::new(method, filter).finish()?;
        self.send(method, body, None, Renew::Only).await?;
        Ok(())
    }

    /// `WaitForUpdatesEx` on `collector` since `version` (`""` first): the
    /// next update set, or `None` when `max_wait_seconds` passed without one.
    pub async fn wait_for_updates(
        &self,
        collector: &MoRef,
        version: &str,
        options: WaitOptions,
    ) -> Result<Option<UpdateSet>, Error> {
        let method = "WaitForUpdatesEx";
        let mut w = RequestWriter::new(method, collector);
        w.text("version", version);
        w.start("options");
        if let Some(wait) = options.max_wait_seconds {
            w.int("maxWaitSeconds", i64::from(wait));
        }
        if let Some(max) = options.max_object_updates {
            w.int("maxObjectUpdates", i64::from(max));
        }
        w.end("options");
        let call = self.config().timeouts.call;
        let timeout = match options.max_wait_seconds {
            Some(wait) => Duration::from_secs(u64::from(wait)) + call,
            None => Duration::from_secs(3600),
        };
        let response = self
            .send(method, w.finish()?, Some(timeout), Renew::Only)
            .await?;
        match returnval_element(response) {
            Some(element) => decode_update_set(element, method).map(Some),
            None => Ok(None),
        }
    }

    /// `CancelWaitForUpdates`: the pending wait on `collector` fails with
    /// `RequestCanceled`.
    pub async fn cancel_wait_for_updates(&self, collector: &MoRef) -> Result<(), Error> {
        let method = "CancelWaitForUpdates";
        let body = RequestWriter::new(method, collector).finish()?;
        self.send(method, body, None, Renew::Only).await?;
        Ok(())
    }

    /// `CreateContainerView`: the objects of `types` under `container`.
    pub async fn create_container_view(
        &self,
        container: &MoRef,
        types: &[&str],
        recursive: bool,
    ) -> Result<MoRef, Error> {
        let method = "CreateContainerView";
        let view_manager = self
            .content()
            .view_manager
            .clone()
            .ok_or_else(|| Error::Protocol {
                method: method.into(),
                message: "the server has no ViewManager".into(),
            })?;
        let mut w = RequestWriter::new(method, &view_manager);
        w.moref("container", container);
        for t in types {
            w.text("type", t);
        }
        w.bool("recursive", recursive);
        let response = self.send(method, w.finish()?, None, Renew::Retry).await?;
        single_moref(response, method)
    }

    /// `DestroyView`.
    pub async fn destroy_view(&self, view: &MoRef) -> Result<(), Error> {
        let method = "DestroyView";
        let body = RequestWriter::new(method, view).finish()?;
        self.send(method, body, None, Renew::Only).await?;
        Ok(())
    }
}

/// Pages of a retrieval (see [`Client::retrieve_pages`]).
#[derive(Debug)]
pub struct RetrievePager {
    client: Client,
    state: PagerState,
    page_size: u32,
}

#[derive(Debug)]
enum PagerState {
    Start(PropertyFilterSpec),
    Next(String),
    Done,
}

impl RetrievePager {
    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<ObjectContent>>, Error> {
        let page = match std::mem::replace(&mut self.state, PagerState::Done) {
            PagerState::Start(spec) => {
                self.client
                    .retrieve_properties(&spec, Some(self.page_size))
                    .await?
            }
            PagerState::Next(token) => self.client.continue_retrieve(&token).await?,
            PagerState::Done => return Ok(None),
        };
        if let Some(token) = page.token {
            self.state = PagerState::Next(token);
        }
        Ok(Some(page.objects))
    }

    /// Releases the server's remaining pages. Servers without
    /// `CancelRetrievePropertiesEx` (vcsim) expire them on their own.
    pub async fn cancel(mut self) -> Result<(), Error> {
        if let PagerState::Next(token) = std::mem::replace(&mut self.state, PagerState::Done) {
            match self.client.cancel_retrieve(&token).await {
                Err(e) if !e.is_unsupported() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

fn single_moref(response: crate::xml::Element, method: &str) -> Result<MoRef, Error> {
    match returnvals(response, method)?.into_iter().next() {
        Some(Value::MoRef(m)) => Ok(m),
        _ => Err(Error::Protocol {
            method: method.into(),
            message: "no managed object reference returned".into(),
        }),
    }
}

fn protocol(method: &str, message: impl Into<String>) -> Error {
    Error::Protocol {
        method: method.into(),
        message: message.into(),
    }
}

fn xml_error(method: &str) -> impl Fn(crate::error::XmlError) -> Error + '_ {
    move |source| Error::Xml {
        method: method.into(),
        source,
    }
}

fn decode_page(element: Element, method: &str) -> Result<RetrievePage, Error> {
    let mut page = RetrievePage::default();
    for child in element.children {
        match &*child.name {
            "token" => page.token = Some(child.text.trim().to_owned()),
            "objects" => page.objects.push(decode_object_content(child, method)?),
            _ => {}
        }
    }
    Ok(page)
}

fn decode_object_content(element: Element, method: &str) -> Result<ObjectContent, Error> {
    let mut obj = None;
    let mut props = Vec::new();
    let mut missing = Vec::new();
    for child in element.children {
        match &*child.name {
            "obj" => obj = Some(decode_moref(child).map_err(|m| protocol(method, m))?),
            "propSet" => {
                let (name, value) = decode_name_value(child, method)?;
                if let Some(value) = value {
                    props.push((name, value));
                }
            }
            "missingSet" => missing.push(decode_missing(child, method)?),
            _ => {}
        }
    }
    Ok(ObjectContent {
        obj: obj.ok_or_else(|| protocol(method, "an object without obj"))?,
        props,
        missing,
    })
}

/// `propSet` (`name`, `val`) and `changeSet` (`name`, `op`, `val`) entries.
fn decode_name_value(element: Element, method: &str) -> Result<(String, Option<Value>), Error> {
    let mut name = None;
    let mut value = None;
    for child in element.children {
        match &*child.name {
            "name" => name = Some(child.text.trim().to_owned()),
            "val" => value = Some(decode_value(child).map_err(xml_error(method))?),
            _ => {}
        }
    }
    Ok((
        name.ok_or_else(|| protocol(method, "a property without a name"))?,
        value,
    ))
}

fn decode_missing(element: Element, method: &str) -> Result<MissingProperty, Error> {
    let mut path = String::new();
    let mut fault = None;
    for child in element.children {
        match &*child.name {
            "path" => path = child.text.trim().to_owned(),
            "fault" => {
                let value = decode_value(child).map_err(xml_error(method))?;
                fault = Some(decode_localized_fault(&value));
            }
            _ => {}
        }
    }
    Ok(MissingProperty {
        path,
        fault: fault.unwrap_or_else(|| Fault {
            name: "MethodFault".into(),
            message: String::new(),
            detail: Default::default(),
        }),
    })
}

fn decode_update_set(element: Element, method: &str) -> Result<UpdateSet, Error> {
    let mut set = UpdateSet::default();
    for child in element.children {
        match &*child.name {
            "version" => set.version = child.text.trim().to_owned(),
            "truncated" => set.truncated = child.text.trim() == "true",
            "filterSet" => set.filters.push(decode_filter_update(child, method)?),
            _ => {}
        }
    }
    Ok(set)
}

fn decode_filter_update(element: Element, method: &str) -> Result<FilterUpdate, Error> {
    let mut update = FilterUpdate::default();
    for child in element.children {
        match &*child.name {
            "filter" => update.filter = decode_moref(child).map_err(|m| protocol(method, m))?,
            "objectSet" => update.objects.push(decode_object_update(child, method)?),
            "missingSet" => {
                let mut obj = None;
                let mut fault = None;
                for part in child.children {
                    match &*part.name {
                        "obj" => obj = decode_moref(part).ok(),
                        "fault" => {
                            let value = decode_value(part).map_err(xml_error(method))?;
                            fault = Some(decode_localized_fault(&value));
                        }
                        _ => {}
                    }
                }
                if let (Some(obj), Some(fault)) = (obj, fault) {
                    update.missing_objects.push((obj, fault));
                }
            }
            _ => {}
        }
    }
    Ok(update)
}

fn decode_object_update(element: Element, method: &str) -> Result<ObjectUpdate, Error> {
    let mut kind = None;
    let mut obj = None;
    let mut changes = Vec::new();
    let mut missing = Vec::new();
    for child in element.children {
        match &*child.name {
            "kind" => {
                kind = Some(match child.text.trim() {
                    "enter" => UpdateKind::Enter,
                    "modify" => UpdateKind::Modify,
                    "leave" => UpdateKind::Leave,
                    other => {
                        return Err(protocol(method, format!("unknown update kind `{other}`")));
                    }
                })
            }
            "obj" => obj = Some(decode_moref(child).map_err(|m| protocol(method, m))?),
            "changeSet" => changes.push(decode_change(child, method)?),
            "missingSet" => missing.push(decode_missing(child, method)?),
            _ => {}
        }
    }
    Ok(ObjectUpdate {
        kind: kind.ok_or_else(|| protocol(method, "an object update without kind"))?,
        obj: obj.ok_or_else(|| protocol(method, "an object update without obj"))?,
        changes,
        missing,
    })
}

fn decode_change(mut element: Element, method: &str) -> Result<PropertyChange, Error> {
    let op = match element.take_child("op").map(|o| o.text) {
        Some(op) => match op.trim() {
            "add" => ChangeOp::Add,
            "remove" => ChangeOp::Remove,
            "assign" => ChangeOp::Assign,
            "indirectRemove" => ChangeOp::IndirectRemove,
            other => return Err(protocol(method, format!("unknown change op `{other}`"))),
        },
        None => ChangeOp::Assign,
    };
    let (name, value) = decode_name_value(element, method)?;
    Ok(PropertyChange { name, op, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Body, ParseLimits, envelope_body, parse};

    fn response(xml: &str) -> Element {
        let root = parse(xml.as_bytes(), ParseLimits::default()).unwrap();
        match envelope_body(root).unwrap() {
            Body::Response(e) => e,
            Body::Fault(f) => panic!("fault {f}"),
        }
    }

    #[test]
    fn filter_specs_serialize_in_schema_order() {
        let spec = PropertyFilterSpec {
            prop_set: vec![PropertySpec::new(
                "VirtualMachine",
                &["name", "runtime.powerState"],
            )],
            object_set: vec![ObjectSpec {
                obj: MoRef::new("Folder", "group-d1"),
                skip: false,
                select_set: vec![SelectionSpec::Traversal(
                    TraversalSpec::new("Folder", "childEntity")
                        .named("traverseFolders")
                        .select(vec![SelectionSpec::Named("traverseFolders".into())]),
                )],
            }],
            report_missing_objects: false,
        };
        let mut w = RequestWriter::new("CreateFilter", &MoRef::new("PropertyCollector", "pc"));
        spec.write(&mut w, "spec");
        let xml = w.finish().unwrap();
        assert!(
            xml.contains(concat!(
                "<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet>",
                "<pathSet>runtime.powerState</pathSet></propSet><objectSet>",
                r#"<obj type="Folder">group-d1</obj><selectSet xsi:type="TraversalSpec">"#,
                "<name>traverseFolders</name><type>Folder</type><path>childEntity</path>",
                "<skip>false</skip><selectSet><name>traverseFolders</name></selectSet>",
                "</selectSet></objectSet></spec>"
            )),
            "{xml}"
        );
    }

    #[test]
    fn decodes_a_retrieve_page_with_missing_properties() {
        let xml = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><token>0513a728</token><objects><obj type="VirtualMachine">vm-62</obj><propSet><name>name</name><val xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="xsd:string">DC0_H0_VM0</val></propSet><missingSet><path>nonexistent.path</path><fault><fault xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="InvalidProperty"><name>nonexistent.path</name></fault></fault></missingSet></objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"#;
        let page = decode_page(
            returnval_element(response(xml)).unwrap(),
            "RetrievePropertiesEx",
        )
        .unwrap();
        assert_eq!(page.token.as_deref(), Some("0513a728"));
        let vm = &page.objects[0];
        assert_eq!(vm.obj, MoRef::new("VirtualMachine", "vm-62"));
        assert_eq!(vm.get("name"), Some(&Value::String("DC0_H0_VM0".into())));
        assert_eq!(vm.missing[0].path, "nonexistent.path");
        assert_eq!(vm.missing[0].fault.name, "InvalidProperty");
    }

    #[test]
    fn decodes_update_sets() {
        let xml = r#"<Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><Body><WaitForUpdatesExResponse><returnval><version>7</version><filterSet><filter type="PropertyFilter">f-1</filter><objectSet><kind>modify</kind><obj type="VirtualMachine">vm-1</obj><changeSet><name>runtime.powerState</name><op>assign</op><val xsi:type="VirtualMachinePowerState">poweredOff</val></changeSet><changeSet><name>snapshot</name><op>assign</op></changeSet></objectSet><objectSet><kind>leave</kind><obj type="VirtualMachine">vm-2</obj></objectSet></filterSet><truncated>true</truncated></returnval></WaitForUpdatesExResponse></Body></Envelope>"#;
        let set = decode_update_set(
            returnval_element(response(xml)).unwrap(),
            "WaitForUpdatesEx",
        )
        .unwrap();
        assert_eq!(set.version, "7");
        assert!(set.truncated);
        let updates: Vec<_> = set.object_updates().collect();
        assert_eq!(updates[0].kind, UpdateKind::Modify);
        assert_eq!(updates[0].changes[0].op, ChangeOp::Assign);
        assert_eq!(
            updates[0].changes[0].value.as_ref().and_then(Value::as_str),
            Some("poweredOff")
        );
        assert_eq!(updates[0].changes[1].value, None);
        assert_eq!(updates[1].kind, UpdateKind::Leave);
        assert_eq!(updates[1].obj.value, "vm-2");
    }

    #[test]
    fn unknown_update_kinds_are_protocol_errors() {
        let xml = r#"<Envelope><Body><R><returnval><version>1</version><filterSet><filter type="PropertyFilter">f</filter><objectSet><kind>explode</kind><obj type="VirtualMachine">vm-1</obj></objectSet></filterSet></returnval></R></Body></Envelope>"#;
        let err = decode_update_set(
            returnval_element(response(xml)).unwrap(),
            "WaitForUpdatesEx",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }));
    }
}
