/* The login page has nothing to load: ready as soon as it is parsed. */
window.Admin.ready();
