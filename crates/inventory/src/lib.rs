//! Source inventories and the Forklift-compatible inventory REST service.
