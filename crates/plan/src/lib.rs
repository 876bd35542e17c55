//! The plan controller: validation, execution, itineraries and destination objects.
