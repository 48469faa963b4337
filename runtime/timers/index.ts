export { TimerScheduler, timerEventType } from './scheduler.ts';
