"""Feature views: offline history on the offline engine, point-in-time training sets, online latest values."""
