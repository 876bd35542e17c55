//! Macros that stamp out the repetitive parts of the API: string enums that keep unknown
//! values, and the top-level object of each kind.

/// A string-valued enum with known variants plus `Unknown(String)`.
///
/// Forklift stores these as plain strings; the CRD may restrict them with an `enum`, but an
/// object written before a value was removed, or by a newer Forklift, must still
/// deserialize (a single undecodable object would stall a whole watch), so unknown values
/// are kept verbatim and round-trip unchanged. The generated JSON schema is
/// `{type: string, enum: [known values]}` unless `no_schema_enum` is given.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident $([$no_enum:ident])? {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of Ferry does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every value this version of Ferry knows, in upstream's order.
            pub const KNOWN: &'static [&'static str] = &[$($value),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )+
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Parses a wire value; unknown values become [`Self::Unknown`].
            pub fn parse(value: &str) -> Self {
                match value {
                    $( $value => Self::$variant, )+
                    other => Self::Unknown(other.to_string()),
                }
            }

            /// Whether this is one of the values upstream defines.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        /// The zero value of a Go string: `""`, which no known variant has.
        impl Default for $name {
            fn default() -> Self {
                Self::Unknown(String::new())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(value))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::parse(&value))
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                concat!("ferry.", stringify!($name)).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                let mut schema = ::schemars::json_schema!({ "type": "string" });
                if !string_enum!(@no_enum $($no_enum)?) {
                    schema.insert("enum".into(), ::serde_json::json!(Self::KNOWN));
                }
                schema
            }
        }
    };
    (@no_enum no_schema_enum) => { true };
    (@no_enum) => { false };
}

/// The top-level object of a kind: `metadata`, `spec` and `status`, with `apiVersion` and
/// `kind` written on serialization and checked (when present) on deserialization, plus the
/// `k8s_openapi` resource traits, from which `kube::Resource` follows.
///
/// `status` is left out of the serialized form while it is empty, except for kinds declared
/// with `status: always` (the volume populators, whose Go status has no `omitempty`).
macro_rules! kind {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            group: $group:expr,
            version: $version:expr,
            api_version: $api_version:expr,
            kind: $kind:literal,
            plural: $plural:literal,
            spec: $spec:ty,
            status: $status:ty $(, $always:ident)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: $crate::ObjectMeta,
            /// Desired state.
            pub spec: $spec,
            /// Observed state, written by the controller through `/status`.
            pub status: $status,
        }

        impl $name {
            /// A new object named `name` in `namespace`, with an empty status.
            pub fn new(namespace: &str, name: &str, spec: $spec) -> Self {
                Self {
                    metadata: $crate::ObjectMeta {
                        namespace: Some(namespace.to_string()),
                        name: Some(name.to_string()),
                        ..Default::default()
                    },
                    spec,
                    status: Default::default(),
                }
            }

            /// `metadata.name`, or `""` when unset.
            pub fn name(&self) -> &str {
                self.metadata.name.as_deref().unwrap_or_default()
            }

            /// `metadata.namespace`, or `""` when unset.
            pub fn namespace(&self) -> &str {
                self.metadata.namespace.as_deref().unwrap_or_default()
            }

            /// `metadata.uid`, or `""` when unset.
            pub fn uid(&self) -> &str {
                self.metadata.uid.as_deref().unwrap_or_default()
            }

            /// `metadata.generation`, or 0 when unset.
            pub fn generation(&self) -> i64 {
                self.metadata.generation.unwrap_or_default()
            }

            /// An `ObjectReference` naming this object (namespace, name, kind, apiVersion, uid).
            pub fn object_ref(&self) -> $crate::ObjectReference {
                $crate::ObjectReference {
                    api_version: Some($api_version.to_string()),
                    kind: Some($kind.to_string()),
                    namespace: self.metadata.namespace.clone(),
                    name: self.metadata.name.clone(),
                    uid: self.metadata.uid.clone(),
                    ..Default::default()
                }
            }
        }

        impl ::k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = $api_version;
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = ::k8s_openapi::NamespaceResourceScope;
        }

        impl ::k8s_openapi::ListableResource for $name {
            const LIST_KIND: &'static str = concat!($kind, "List");
        }

        impl ::k8s_openapi::Metadata for $name {
            type Ty = $crate::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeStruct;
                let always = kind!(@always $($always)?);
                let with_status = always || self.status != <$status as Default>::default();
                let mut state = serializer.serialize_struct($kind, if with_status { 5 } else { 4 })?;
                state.serialize_field("apiVersion", $api_version)?;
                state.serialize_field("kind", $kind)?;
                state.serialize_field("metadata", &self.metadata)?;
                state.serialize_field("spec", &self.spec)?;
                if with_status {
                    state.serialize_field("status", &self.status)?;
                }
                state.end()
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(::serde::Deserialize)]
                struct Wire {
                    #[serde(rename = "apiVersion", default)]
                    api_version: Option<String>,
                    #[serde(default)]
                    kind: Option<String>,
                    #[serde(default)]
                    metadata: Option<$crate::ObjectMeta>,
                    #[serde(default)]
                    spec: Option<$spec>,
                    #[serde(default)]
                    status: Option<$status>,
                }
                let wire = <Wire as ::serde::Deserialize>::deserialize(deserializer)?;
                if let Some(api_version) = &wire.api_version {
                    if api_version != $api_version {
                        return Err(<D::Error as ::serde::de::Error>::custom(format!(
                            concat!("expected apiVersion {} for kind ", $kind, ", found {:?}"),
                            $api_version, api_version
                        )));
                    }
                }
                if let Some(kind) = &wire.kind {
                    if kind != $kind {
                        return Err(<D::Error as ::serde::de::Error>::custom(format!(
                            concat!("expected kind ", $kind, ", found {:?}"),
                            kind
                        )));
                    }
                }
                Ok(Self {
                    metadata: wire.metadata.unwrap_or_default(),
                    spec: wire.spec.unwrap_or_default(),
                    status: wire.status.unwrap_or_default(),
                })
            }
        }
    };
    (@always always) => { true };
    (@always) => { false };
}

/// A Forklift kind: [`kind!`] in `forklift.konveyor.io/v1beta1`.
macro_rules! forklift_kind {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            kind: $kind:literal,
            plural: $plural:literal,
            spec: $spec:ty,
            status: $status:ty $(, $always:ident)?
        }
    ) => {
        kind! {
            $(#[$meta])*
            pub struct $name {
                group: $crate::GROUP,
                version: $crate::VERSION,
                api_version: "forklift.konveyor.io/v1beta1",
                kind: $kind,
                plural: $plural,
                spec: $spec,
                status: $status $(, $always)?
            }
        }
    };
}
