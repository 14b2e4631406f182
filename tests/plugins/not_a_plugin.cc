// A shared library that is not a Rapport plugin: no manifest, no factory.
extern "C" int not_a_plugin_answer() { return 42; }
