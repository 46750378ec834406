"""The ways out behind one interface (base.Transport); factory.make_transport builds one."""
