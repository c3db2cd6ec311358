// Test entry point (loaded with --import): decorator metadata must exist before any module is decorated.
import 'reflect-metadata';
